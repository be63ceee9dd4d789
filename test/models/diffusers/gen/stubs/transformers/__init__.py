"""Stand-in for transformers (PEFT imports it; LoRA on a diffusers model needs none of it). See _placeholder.py."""
from _placeholder import install

install(__name__, "4.46.0")
