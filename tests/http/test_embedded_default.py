"""With no settings at all, `storefront serve` keeps its data in ./storefront.db across restarts."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.live_server import serving, storefront


def test_a_product_created_over_http_is_still_there_after_a_restart(tmp_path: Path) -> None:
    made = storefront(
        "create-superuser", "--email", "root@example.com", "--password", "long-password",
        cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr

    with serving(tmp_path) as base:
        token = httpx.post(
            f"{base}/api/v1/auth/login",
            data={"username": "root@example.com", "password": "long-password"},
        ).json()["access_token"]
        created = httpx.post(
            f"{base}/api/v1/products",
            json={"name": "Red Shirt", "price": "19.99", "stock": 3, "category": "shirts"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 201, created.text

    assert (tmp_path / "storefront.db").exists()
    assert (tmp_path / ".storefront-secret").exists()
    with serving(tmp_path) as base:
        found = httpx.get(f"{base}/api/v1/products/slug/red-shirt")
        assert found.status_code == 200
        assert found.json()["price"] == "19.99"
        # The generated key is kept: a token from before the restart still works.
        me = httpx.get(f"{base}/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
