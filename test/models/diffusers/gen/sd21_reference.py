"""SD 2.1 at full size, made by diffusers: random weights (diffusers' own initialisation) from the published configs
in ../sd21, saved as a diffusers folder, and diffusers' float64 UNet output at a 64x64 latent. Not part of `npm test`
(the folder is 3.8 GB); use it with the slow test:

    DIFFUSERS_SRC=... PEFT_SRC=... sh test/models/diffusers/gen/run.sh --sd21 /tmp/sd21
    RDDM_SLOW=1 RDDM_SD21_DIR=/tmp/sd21 npx vitest run test/models/sd21-full.test.ts

writes DIR/unet, DIR/vae and DIR/reference.safetensors (latent, context, timestep, diffusers' ε in float64).
"""

import json
import os
import sys
import time

import torch

from diffusers import AutoencoderKL, UNet2DConditionModel
from safetensors.torch import save_file

here = os.path.dirname(os.path.abspath(__file__))


def save(model, path):
    model.save_config(path)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(path, "diffusion_pytorch_model.safetensors"), metadata={"format": "pt"})


def main(out):
    cfg = lambda name: {k: v for k, v in json.load(open(os.path.join(here, "..", "sd21", f"{name}-config.json"))).items() if not k.startswith("_")}
    torch.manual_seed(21)
    save(AutoencoderKL(**cfg("vae")), os.path.join(out, "vae"))
    unet = UNet2DConditionModel(**cfg("unet"))
    save(unet, os.path.join(out, "unet"))
    g = torch.Generator().manual_seed(3)
    z = torch.randn((1, 4, 64, 64), generator=g).double()
    ctx = torch.randn((1, 77, 1024), generator=g).double()
    unet = unet.double().eval()
    t0 = time.time()
    with torch.no_grad():
        eps = unet(z, 999, encoder_hidden_states=ctx).sample
    print(f"diffusers float64 UNet forward at 64x64 on the CPU: {time.time() - t0:.1f} s")
    save_file({"latent": z, "context": ctx, "timesteps": torch.tensor([999.0], dtype=torch.float64), "out": eps.contiguous()}, os.path.join(out, "reference.safetensors"))


if __name__ == "__main__":
    main(sys.argv[1])
