"""Stand-in for huggingface_hub (diffusers and PEFT import it; local folders need none of it). See _placeholder.py."""
from _placeholder import install

install(__name__, "0.34.0")
