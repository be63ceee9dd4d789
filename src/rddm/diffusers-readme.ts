import type { UNetConfig, VaeConfig } from '../models/configs.js';
import type { RddmConfig } from './system.js';

/**
 * The Python that opens an exported folder, as the folder's README.md and the repository README show it.
 * test/models/diffusers/gen/generate.py runs these same calls on the export of the shipped weights.
 */
export const PYTORCH_LOADING_CODE = `import json, torch
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from peft import PeftModel
from safetensors.torch import load_file

d = "OUT"                                                  # the exported folder
rddm = json.load(open(f"{d}/rddm.json"))["config"]
unet = UNet2DConditionModel.from_pretrained(f"{d}/unet")
vae = AutoencoderKL.from_pretrained(f"{d}/vae")            # E_lin + D_lin
raw = AutoencoderKL.from_pretrained(f"{d}/raw_encoder")    # E_raw (base weights) + D_lin
scheduler = DDPMScheduler.from_pretrained(f"{d}/scheduler")
context = load_file(f"{d}/null_text_embedding.safetensors")["null_text_embedding"]  # [1, tokens, dim]

# CMB-LoRA: one PEFT adapter per Bayer pattern, on the UNet and on E_raw.
patterns = ["RGGB", "BGGR", "GRBG", "GBRG"]
unet = PeftModel.from_pretrained(unet, f"{d}/unet_lora/{patterns[0]}", adapter_name=patterns[0])
raw = PeftModel.from_pretrained(raw, f"{d}/raw_encoder_lora/{patterns[0]}", adapter_name=patterns[0])
for p in patterns[1:]:
    unet.load_adapter(f"{d}/unet_lora/{p}", adapter_name=p)
    raw.load_adapter(f"{d}/raw_encoder_lora/{p}", adapter_name=p)

# One-step restoration of a mosaic with pattern P, given u = the mosaic as sparse RGB [B, 3, H, W]
# (each colour at its own sites, zeros elsewhere), already in the model domain (exposure gain, companding: rddm.json).
@torch.no_grad()
def restore(u, P):
    unet.set_adapter(P); raw.set_adapter(P)
    s, T = rddm["latentScale"], rddm["timestep"]
    a = scheduler.alphas_cumprod[T].item()
    z_l = s * raw.encode(u).latent_dist.mean
    eps = unet(z_l, T, encoder_hidden_states=context.expand(u.shape[0], -1, -1)).sample
    z_h = (z_l - (1 - a) ** 0.5 * eps) / a ** 0.5
    return vae.decode(z_h / s).sample                     # model domain: undo companding and gain after this`;

const num = (v: number | undefined, dflt = 'off'): string => (v ? String(v) : dflt);

/** README.md of an exported folder: what each part is and how to load it in PyTorch. */
export function diffusersReadme(c: RddmConfig, uc: UNetConfig, vc: VaeConfig, hasLora: boolean): string {
  const e = c.compandEps ?? 0;
  return `# RDDM weights for diffusers and PEFT

Exported by \`rddm export --to diffusers\`. Bring the folder back with \`rddm import --from diffusers DIR WEIGHTS\`
or use it directly: \`rddm restore --weights DIR\`, \`rddm train … --init DIR\`.

| folder / file | what it is | PyTorch class |
|---|---|---|
| \`unet/\` | the diffusion UNet's base weights (${uc.blockOutChannels.length} levels, widths ${uc.blockOutChannels.join('/')}, ε-prediction) | \`UNet2DConditionModel\` |
| \`vae/\` | the RVAE: E_lin encodes linear images, D_lin decodes latents; \`scaling_factor\` = RDDM's latent scale ${c.latentScale} | \`AutoencoderKL\` |
| \`raw_encoder/\` | E_raw (the encoder adapted to RAW mosaics, base weights) with D_lin as its decoder | \`AutoencoderKL\` |
| \`unet_lora/{RGGB,BGGR,GRBG,GBRG}/\` | ${hasLora ? `CMB-LoRA of the UNet, one adapter per Bayer pattern (rank ${c.loraRank})` : 'absent: these weights have no CMB-LoRA yet'} | PEFT \`LoraConfig\` adapter |
| \`raw_encoder_lora/{…}/\` | ${hasLora ? 'CMB-LoRA of E_raw, one adapter per Bayer pattern' : 'absent'} | PEFT adapter |
| \`null_text_embedding.safetensors\` | the learned cross-attention context, \`[1, ${uc.contextLength}, ${uc.crossAttentionDim}]\` (there is no text encoder) | tensor |
| \`scheduler/\` | the noise schedule: scaled-linear β 0.00085 → 0.012, 1000 steps | \`DDPMScheduler\` |
| \`rddm.json\` | RDDM settings: latent scale, timestep T = ${c.timestep}, companding ε = ${num(e)}, exposure target ${num(c.exposureTarget)}${c.exposurePerChannel ? ' per channel' : ''}, channel-mean matching ${c.matchChannelMeans ? 'on' : 'off'}, colour fix σ = ${num(c.colourFixSigma)} (band ${num(c.colourFixBand)}) | JSON |

Weights are float32 with diffusers' key names; every key and shape loads strictly (checked with diffusers 0.31.0 and PEFT 0.13.2).

## Loading

\`\`\`python
${PYTORCH_LOADING_CODE}
\`\`\`

## The model domain

The RVAE never sees camera-linear values directly (\`src/rddm/system.ts\` in rddm has the reasons):
${c.exposureTarget ? `- exposure: y = g·x with g = ${c.exposureTarget} / level, level = ${c.exposurePerChannel ? "each colour's mean (for a mosaic: the mean of that colour's sites)" : 'the mean of (R + 2G + B) / 4 (for a mosaic: its mean)'}, g clamped to [1/16, 256];\n` : ''}${e ? `- companding: u = y / (√(|y| + ε) + √ε), ε = ${e}; its inverse y = u·(|u| + 2√ε);\n` : ''}- the decoded image is taken back through the inverse companding and divided by g${c.matchChannelMeans ? ', then each channel is scaled so its mean matches the mosaic\'s sites of that colour' : ''}${c.colourFixSigma ? `, then the low-frequency colour fix (σ ${c.colourFixSigma} px${c.colourFixBand ? `, band ${c.colourFixBand} px` : ''}: \`src/rddm/colour-fix.ts\`)` : ''}.

Training the RDDM stages on these weights: the UNet's base and D_lin stay frozen in the one-step stage; CMB-LoRA
(both \`unet_lora\` and \`raw_encoder_lora\`) and both \`conv_in\` layers train. A PEFT adapter trained further in
PyTorch comes back through \`rddm import\`; keep \`r\` equal for every pattern (rddm uses one rank) and any \`lora_alpha\`
(rddm folds \`lora_alpha / r\` into B on import).
`;
}
