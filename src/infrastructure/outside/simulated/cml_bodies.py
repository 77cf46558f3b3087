"""JSON bodies of the simulated CML API, shaped like the CML 2.9 spec's schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import yaml

from application.mapper import rfc3339
from infrastructure.outside.simulated.cml_host import CML_VERSION, SSMS, SimCml, SimLab

GIB = 1024**3
HOSTNAME = "cml-controller"


def system_information(cml: SimCml, at: datetime) -> dict[str, Any]:
    return {
        "version": CML_VERSION,
        "ready": cml.ready(at),
        "allow_ssh_pubkey_auth": False,
        "oui": "52:54:00:00:00:00",
    }


def system_health(cml: SimCml, at: datetime) -> dict[str, Any]:
    ready = cml.ready(at)
    licensed = cml.registration == "COMPLETED"
    compute = {
        "kvm_vmx_enabled": True,
        "enough_cpus": True,
        "lld_connected": ready,
        "lld_synced": ready,
        "libvirt": True,
        "fabric": ready,
        "device_mux": ready,
        "refplat_images_available": True,
        "docker_shim": True,
        "valid": ready,
        "admission_state": "READY" if ready else "REGISTERED",
        "is_controller": True,
        "hostname": HOSTNAME,
    }
    controller = {"core_connected": ready, "nodes_loaded": ready, "images_loaded": True}
    return {
        "valid": ready,
        "computes": {cml.compute_id: compute},
        "is_licensed": licensed,
        "is_enterprise": True,
        "controller": {**controller, "valid": ready},
    }


def _amounts(percent: float, total_bytes: float) -> dict[str, float]:
    used = round(total_bytes * percent / 100.0)
    return {"used": used, "free": total_bytes - used, "total": total_bytes}


def system_stats(
    cml: SimCml, vcpus: int, memory_gib: int, cpu: float, memory: float, disk: float
) -> dict[str, Any]:
    cpu_stats = {"count": vcpus, "percent": round(cpu, 2)}
    memory_stats = _amounts(memory, memory_gib * GIB)
    disk_stats = _amounts(disk, 256 * GIB)
    running = cml.running_nodes()
    dominfo = {
        "total_nodes": sum(lab.node_count for lab in cml.labs),
        "total_orphans": 0,
        "running_nodes": running,
        "running_orphans": 0,
        "allocated_cpus": running,
        "allocated_memory": running * 2048,
    }
    host_cpu = {
        **cpu_stats,
        "model": "Intel Xeon Platinum",
        "predicted": vcpus,
        "load": [cpu / 100],
    }
    compute = {
        "hostname": HOSTNAME,
        "is_controller": True,
        "stats": {"cpu": host_cpu, "memory": memory_stats, "disk": disk_stats, "dominfo": dominfo},
    }
    return {
        "computes": {cml.compute_id: compute},
        "all": {"cpu": cpu_stats, "memory": memory_stats, "disk": disk_stats},
        "controller": {"disk": disk_stats},
    }


def _time_info(status: str | None, at: datetime | None, failure: str | None) -> dict[str, Any]:
    return {
        "succeeded": rfc3339(at) if failure is None else None,
        "attempted": rfc3339(at),
        "scheduled": None,
        "status": status,
        "failure": failure,
        "success": "SUCCEEDED" if failure is None else "FAILED",
    }


def licensing(cml: SimCml, at: datetime) -> dict[str, Any]:
    cml.settle_license(at)
    renew = _time_info(cml.registration, at, cml.license_failure)
    return {
        "udi": {"hostname": HOSTNAME, "product_uuid": cml.product_uuid},
        "registration": {
            "status": cml.registration,
            "smart_account": "Example Org" if cml.registration == "COMPLETED" else None,
            "virtual_account": "Labs" if cml.registration == "COMPLETED" else None,
            "register_time": renew,
            "renew_time": renew,
            "expires": None,
        },
        "authorization": {"status": cml.authorization, "renew_time": renew, "expires": None},
        "reservation_mode": False,
        "features": [],
        "product_license": {"active": "CML_Enterprise", "is_enterprise": True},
        "transport": {"proxy": {"server": None, "port": None}, "default_ssms": SSMS, "ssms": SSMS},
    }


def lab(cml: SimCml, item: SimLab) -> dict[str, Any]:
    return {
        "id": item.id,
        "created": rfc3339(item.created),
        "modified": rfc3339(item.modified),
        "lab_description": "",
        "lab_notes": "",
        "lab_title": item.title,
        "owner": cml.owner_ids[item.owner],
        "owner_username": item.owner,
        "owner_fullname": item.owner.title(),
        "state": item.state,
        "node_count": item.node_count,
        "link_count": item.link_count,
        "effective_permissions": ["lab_admin", "lab_edit", "lab_exec", "lab_view"],
    }


def lab_yaml(item: SimLab) -> str:
    """``GET /labs/{lab_id}/download``: the lab's topology in CML's YAML."""
    text: str = yaml.safe_dump(item.as_topology(), sort_keys=False)
    return text
