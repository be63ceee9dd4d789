"""Writes the diffusers parity fixtures of test/models/diffusers-parity.test.ts (see README.md beside this file).

1. Tiny UNet2DConditionModels and an AutoencoderKL, built by diffusers itself with every weight randomised (not
   diffusers' zero or unit inits), saved with save_pretrained; inputs at odd sizes, batch 2, several timesteps; and
   diffusers' outputs computed in float64 (the float32 weights and inputs, converted exactly).
2. The export of the shipped weights (`rddm export weights/rddm-tiny --to diffusers DIR`): loaded with
   from_pretrained (every key and shape checked: nothing missing, unexpected or mismatched) and PEFT's
   PeftModel.from_pretrained / load_adapter, exactly as the README's loading code does; then the one-step
   restoration's latent path per Bayer pattern in float64, and the sha256 of every exported file (the test re-exports
   and requires the same bytes).

Run through run.sh, which sets up the pinned diffusers and PEFT sources and the local stand-ins.
"""

import argparse
import hashlib
import json
import math
import os
import sys

import torch

from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from peft import PeftModel
from safetensors.torch import load_file, save_file

PATTERNS = ["RGGB", "BGGR", "GRBG", "GBRG"]


def randomise(model, seed):
    """Every parameter random: weights ~ N(0, 1/fan_in), biases ~ N(0, 0.1²), norm scales 1 + N(0, 0.1²)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if name.endswith(".bias"):
                p.copy_(0.1 * r)
            elif p.ndim == 1:  # GroupNorm / LayerNorm scale
                p.copy_(1 + 0.1 * r)
            else:
                fan_in = p[0].numel()
                p.copy_(r / math.sqrt(fan_in))
    return model


def f64(t):
    return t.detach().to(torch.float64).contiguous()


def rand(g, *shape, scale=1.0):
    return (scale * torch.randn(shape, generator=g, dtype=torch.float32)).to(torch.float64)


def save(model, path):
    """What save_pretrained writes for one shard (its sharding helper lives in the hub client, stood in for here)."""
    model.save_config(path)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(path, "diffusion_pytorch_model.safetensors"), metadata={"format": "pt"})


def check_strict(cls, path):
    """from_pretrained as a user calls it, with the loading report: every key and shape must match."""
    model, info = cls.from_pretrained(path, output_loading_info=True)
    bad = {k: v for k, v in info.items() if v}
    if bad:
        sys.exit(f"{path}: diffusers' loading report is not clean: {bad}")
    # And a plain strict load of the file into a model built from the config.
    fresh = cls.from_config(cls.load_config(path))
    fresh.load_state_dict(load_file(os.path.join(path, "diffusion_pytorch_model.safetensors")), strict=True)
    return model


UNETS = {
    # Three levels (latents a multiple of 4: 12x20 runs 6x10 and 3x5 inside), two layers per block, a list of heads.
    "unet-a": dict(
        in_channels=4, out_channels=4, block_out_channels=(16, 24, 32), layers_per_block=2,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        attention_head_dim=(2, 3, 4), cross_attention_dim=12, norm_num_groups=8, use_linear_projection=True,
        sample_size=16,
    ),
    # Two levels in the other order, one head count for all (an int), DDPM's sin-first embedding with shift 1, 3 -> 5 channels.
    "unet-b": dict(
        in_channels=3, out_channels=5, block_out_channels=(16, 32), layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=2, cross_attention_dim=8, norm_num_groups=4, norm_eps=1e-6, use_linear_projection=True,
        flip_sin_to_cos=False, freq_shift=1, upcast_attention=True, sample_size=8,
    ),
}

VAE = dict(
    in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(16, 24, 32), layers_per_block=2,
    down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3, norm_num_groups=8,
    scaling_factor=0.5, sample_size=32,
)


def tiny_models(out, cases):
    g = torch.Generator().manual_seed(20)
    for seed, (name, cfg) in enumerate(UNETS.items()):
        path = os.path.join(out, name)
        save(randomise(UNet2DConditionModel(**cfg), 100 + seed), path)
        unet = check_strict(UNet2DConditionModel, path).double().eval()
        cin, ctx = cfg["in_channels"], cfg["cross_attention_dim"]
        shapes = {
            "unet-a": [("b2", (2, cin, 12, 20), [999, 17], 5), ("b1", (1, cin, 8, 28), 250, 3), ("frac", (2, cin, 4, 4), [0, 500.5], 7)],
            "unet-b": [("b2", (2, cin, 6, 10), [999, 1], 4), ("b1", (1, cin, 2, 14), 42, 1)],
        }[name]
        for tag, shape, t, tokens in shapes:
            x = rand(g, *shape)
            c = rand(g, shape[0], tokens, ctx)
            tt = torch.tensor(t, dtype=torch.float64) if isinstance(t, list) else t
            with torch.no_grad():
                y = unet(x, tt, encoder_hidden_states=c).sample
            key = f"{name}.{tag}"
            cases[f"{key}.sample"] = x
            cases[f"{key}.context"] = c
            cases[f"{key}.timesteps"] = torch.tensor(t if isinstance(t, list) else [t], dtype=torch.float64)
            cases[f"{key}.out"] = f64(y)
    path = os.path.join(out, "vae")
    save(randomise(AutoencoderKL(**VAE), 200), path)
    vae = check_strict(AutoencoderKL, path).double().eval()
    for tag, shape in [("b2", (2, 3, 12, 20)), ("b1", (1, 3, 28, 8))]:
        x = rand(g, *shape)
        lat = (shape[0], VAE["latent_channels"], shape[2] // 4, shape[3] // 4)
        z = rand(g, *lat)
        with torch.no_grad():
            post = vae.encode(x).latent_dist
            cases[f"vae.{tag}.image"] = x
            cases[f"vae.{tag}.mean"] = f64(post.mean)
            cases[f"vae.{tag}.logvar"] = f64(post.logvar)
            cases[f"vae.{tag}.latent"] = z
            cases[f"vae.{tag}.decoded"] = f64(vae.decode(z).sample)
            cases[f"vae.{tag}.forward"] = f64(vae(x, sample_posterior=False).sample)


def sparse_rgb(g, pattern, b, h, w):
    """A mosaic as sparse RGB in the model domain: each colour only at its own sites (values like companded RAW)."""
    colour = {"R": 0, "G": 1, "B": 2}
    u = torch.zeros(b, 3, h, w, dtype=torch.float64)
    v = rand(g, b, 1, h, w).abs() * 0.4 + 0.05
    for i in range(2):
        for j in range(2):
            c = colour[pattern[2 * i + j]]
            u[:, c, i::2, j::2] = v[:, 0, i::2, j::2]
    return u


def alpha_bar(t):
    """RDDM's schedule (src/rddm/schedule.ts) in float64: scaled-linear betas 0.00085 -> 0.012 over 1000 steps."""
    a, b = math.sqrt(0.00085), math.sqrt(0.012)
    prod = 1.0
    for i in range(t + 1):
        s = a + (b - a) * i / 999
        prod *= 1 - s * s
    return prod


def shipped_export(d, weights, cases):
    """The README's loading code on the export of the shipped weights, then one-step restoration per pattern."""
    rddm = json.load(open(f"{d}/rddm.json"))["config"]
    unet = check_strict(UNet2DConditionModel, f"{d}/unet")
    vae = check_strict(AutoencoderKL, f"{d}/vae")
    raw = check_strict(AutoencoderKL, f"{d}/raw_encoder")
    scheduler = DDPMScheduler.from_pretrained(f"{d}/scheduler")
    context = load_file(f"{d}/null_text_embedding.safetensors")["null_text_embedding"]
    unet = PeftModel.from_pretrained(unet, f"{d}/unet_lora/{PATTERNS[0]}", adapter_name=PATTERNS[0])
    raw = PeftModel.from_pretrained(raw, f"{d}/raw_encoder_lora/{PATTERNS[0]}", adapter_name=PATTERNS[0])
    for p in PATTERNS[1:]:
        unet.load_adapter(f"{d}/unet_lora/{p}", adapter_name=p)
        raw.load_adapter(f"{d}/raw_encoder_lora/{p}", adapter_name=p)
    # Every adapter weight PEFT holds equals the file's (PEFT renames keys; nothing may be dropped or left random).
    for model, sub in [(unet, "unet_lora"), (raw, "raw_encoder_lora")]:
        state = dict(model.named_parameters())
        for p in PATTERNS:
            f = load_file(f"{d}/{sub}/{p}/adapter_model.safetensors")
            cfg = json.load(open(f"{d}/{sub}/{p}/adapter_config.json"))
            held = {k for k in state if f".{p}." in k and ".lora_" in k}
            if len(held) != len(f) or len(f) != 2 * len(cfg["target_modules"]):
                sys.exit(f"{sub}/{p}: PEFT holds {len(held)} adapter tensors, the file {len(f)}, the config targets {len(cfg['target_modules'])} modules")
            for k, v in f.items():
                name = k.replace(".lora_A.weight", f".lora_A.{p}.weight").replace(".lora_B.weight", f".lora_B.{p}.weight")
                if not torch.equal(state[name], v):
                    sys.exit(f"{sub}/{p}: {name} differs from the file")
    unet, vae, raw = unet.double().eval(), vae.double().eval(), raw.double().eval()
    context = context.double()
    s, T = rddm["latentScale"], rddm["timestep"]
    a = alpha_bar(T)
    # The scheduler's ᾱ (float32 in diffusers) is ours rounded.
    if abs(scheduler.alphas_cumprod[T].item() - a) > 1e-6:
        sys.exit(f"scheduler/: alphas_cumprod[{T}] = {scheduler.alphas_cumprod[T].item()}, RDDM's schedule gives {a}")
    g = torch.Generator().manual_seed(30)
    h, w = 24, 40
    cases["shipped.alpha_bar"] = torch.tensor([a], dtype=torch.float64)
    with torch.no_grad():
        x = rand(g, 2, 3, h, w).abs() * 0.5
        cases["shipped.linear"] = x
        cases["shipped.vae.mean"] = f64(vae.encode(x).latent_dist.mean)
        z = rand(g, 2, vae.config.latent_channels, h // 2, w // 2)
        cases["shipped.vae.latent"] = z
        cases["shipped.vae.decoded"] = f64(vae.decode(z).sample)
        with unet.disable_adapter():
            cases["shipped.unet.base"] = f64(unet(z, T, encoder_hidden_states=context.expand(2, -1, -1)).sample)
        for p in PATTERNS:
            unet.set_adapter(p)
            raw.set_adapter(p)
            u = sparse_rgb(g, p, 2, h, w)
            z_l = s * raw.encode(u).latent_dist.mean
            eps = unet(z_l, T, encoder_hidden_states=context.expand(2, -1, -1)).sample
            z_h = (z_l - math.sqrt(1 - a) * eps) / math.sqrt(a)
            cases[f"shipped.{p}.input"] = u
            cases[f"shipped.{p}.z_l"] = f64(z_l)
            cases[f"shipped.{p}.eps"] = f64(eps)
            cases[f"shipped.{p}.z_h"] = f64(z_h)
            cases[f"shipped.{p}.image"] = f64(vae.decode(z_h / s).sample)
    hashes = {}
    for root, _, files in os.walk(d):
        for name in files:
            path = os.path.join(root, name)
            hashes[os.path.relpath(path, d)] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    manifest = json.load(open(os.path.join(weights, "manifest.json")))
    return {"export_sha256": dict(sorted(hashes.items())), "weights_sha256": {k: v["sha256"] for k, v in manifest["files"].items()}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--export", required=True, help="the folder `rddm export weights/rddm-tiny --to diffusers` wrote")
    ap.add_argument("--weights", required=True, help="the weights folder that was exported (weights/rddm-tiny)")
    ap.add_argument("--out", required=True, help="the fixtures folder (test/models/diffusers/fixtures)")
    args = ap.parse_args()
    torch.manual_seed(0)
    os.makedirs(args.out, exist_ok=True)
    cases = {}
    tiny_models(args.out, cases)
    meta = shipped_export(args.export, args.weights, cases)
    import diffusers
    import peft

    meta.update(diffusers=diffusers.__version__, peft=peft.__version__, torch=torch.__version__)
    # A non-finite reference would make its parity check fail as NaN, not as a mismatch: one regeneration on this
    # 2-core VM under load wrote NaN for unet-a.frac.out and the next did not, so refuse to write such a fixture.
    bad = [k for k, v in cases.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        sys.exit(f"non-finite values in {', '.join(bad)}: run the generator again")
    save_file({k: v.contiguous() for k, v in cases.items()}, os.path.join(args.out, "cases.safetensors"), metadata={"about": json.dumps(meta)})
    with open(os.path.join(args.out, "generated.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"{len(cases)} tensors; diffusers {diffusers.__version__}, PEFT {peft.__version__}, torch {torch.__version__}")


if __name__ == "__main__":
    main()
