"""The appliance image: recipe, disk assembly, and booting it under qemu."""
