"""edgenas: hardware-aware NAS and int8 deployment for microcontrollers and edge targets."""

__version__ = "0.1.0"
