"""The emulated CPU model the image boots on (image.vm.cpu_model, Machine.argv)."""

from __future__ import annotations

from pathlib import Path

import pytest

from image.vm import Machine, cpu_model


def _cpu_argument(machine: Machine) -> str:
    argv = machine.argv()
    return argv[argv.index("-cpu") + 1]


def test_software_emulation_boots_on_qemu64(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BURROW_QEMU_CPU", raising=False)
    monkeypatch.setenv("BURROW_QEMU_ACCEL", "tcg,thread=multi")
    assert cpu_model() == "qemu64"
    assert _cpu_argument(Machine(disk=Path("disk.qcow2"))) == "qemu64"


def test_kvm_boots_on_the_hosts_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BURROW_QEMU_CPU", raising=False)
    monkeypatch.setenv("BURROW_QEMU_ACCEL", "kvm")
    assert cpu_model() == "host"


def test_the_model_can_be_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BURROW_QEMU_ACCEL", "tcg,thread=multi")
    monkeypatch.setenv("BURROW_QEMU_CPU", "max")
    assert _cpu_argument(Machine(disk=Path("disk.qcow2"))) == "max"
    # A machine given its own model (tests.system.measure --cpu) keeps it.
    assert _cpu_argument(Machine(disk=Path("disk.qcow2"), cpu="Westmere")) == "Westmere"
