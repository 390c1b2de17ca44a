"""Phone configuration files, one renderer module per phone family (DESIGN section 5), and the phone-facing
provisioning server (`server.py`, its own process) with its store and the workers' push adapter (`client.py`).

A renderer module provides `render_device_config(device, *, proxy=None, outbound_proxy=None, profile_rule=None)`,
`render_bootstrap(model, base_url)`, `bootstrap_filename(model)`, `device_filename(device)` and
`with_render_relations(queryset)`. Adding a family = a new module and one entry in `_RENDERERS`.

Renderers are imported lazily: the provisioning server imports this package without Django being set up.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devices.models import Device, SupportedDevice

# Vendor (first word of `SupportedDevice.family`) -> renderer module. Every catalogued Cisco model is MPP (3PCC).
_RENDERERS: dict[str, str] = {
    "Cisco": "devices.provisioning.mpp",
}


def renderer_for(model: SupportedDevice) -> ModuleType:
    """The renderer module for a phone model; LookupError when no family renderer handles it."""
    vendor = (model.family or "").split(" ", 1)[0]
    try:
        name = _RENDERERS[vendor]
    except KeyError:
        raise LookupError(f"No configuration renderer for {model} ({model.family}).") from None
    return importlib.import_module(name)


def render_device_config(device: Device, *, proxy: str | None = None, outbound_proxy: str | None = None,
                         profile_rule: str | None = None) -> str:
    """The device's own configuration file (for MPP: `<mac>.xml`), with its lines and credentials."""
    return renderer_for(device.model).render_device_config(device, proxy=proxy, outbound_proxy=outbound_proxy,
                                                           profile_rule=profile_rule)


def render_bootstrap(model: SupportedDevice, base_url: str) -> str:
    """The public per-model file a factory-fresh phone fetches first (for MPP: `<model>-3PCC.xml`); no secrets."""
    return renderer_for(model).render_bootstrap(model, base_url)


__all__ = ["render_bootstrap", "render_device_config", "renderer_for"]
