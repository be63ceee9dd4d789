"""Stand-in for accelerate (PEFT imports it; LoRA on a diffusers model needs none of it). See _placeholder.py.

Deliberately without a dist-info: diffusers then finds no accelerate *version* and loads with low_cpu_mem_usage=False
(plain load_state_dict), instead of calling accelerate's meta-device helpers."""
from _placeholder import install

install(__name__, "1.0.0")
