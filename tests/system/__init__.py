"""System tests: the built appliance image booted under qemu."""
