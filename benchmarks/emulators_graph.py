"""How fast the Graph emulator lists users to a plain httpx client, as the product will list them.

    python -m benchmarks.emulators_graph [--users 100000 1000000]

For each size: generate a company of that many people (its Entra tenant), start the Entra/Graph
emulator on it (real TLS), get a token from its authority with the client secret, then list every
user with `$top=999` and the product's `$select`, following `@odata.nextLink`, and print a table.
"""

from __future__ import annotations

import argparse
import ssl
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from emulators.data import generate_world
from emulators.launcher import Emulators

PRODUCT_SELECT = (
    "id,userPrincipalName,mail,givenName,surname,mobilePhone,streetAddress,postalCode,city,"
    "country,employeeId,employeeHireDate,jobTitle,accountEnabled,userType,onPremisesSyncEnabled"
)


def make_state(users: int, seed: int) -> tuple[dict[str, Any], str]:
    """The generated company's Entra state (a share of its people are in Huma only, so the
    tenant holds fewer than `users`) and its app's secret."""
    entra = generate_world(users=users, seed=seed).entra
    return entra, entra["tenants"][0]["applications"][0]["secrets"][0]["secretText"]


def list_all(base: str, token: str, tls: ssl.SSLContext) -> tuple[int, int]:
    """Every user through the product's query; returns (users, pages)."""
    headers = {"Authorization": f"Bearer {token}"}
    users = pages = 0
    url: str | None = f"{base}/v1.0/users"
    params: dict[str, str] | None = {"$top": "999", "$select": PRODUCT_SELECT}
    with httpx.Client(verify=tls, timeout=60, headers=headers) as client:
        while url:
            response = client.get(url, params=params)
            response.raise_for_status()
            body = response.json()
            users += len(body["value"])
            pages += 1
            url, params = body.get("@odata.nextLink"), None
    return users, pages


def run(users: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        state, secret = make_state(users, seed)
        state_file = Path(folder) / "entra-state.json"
        state_file.write_bytes(orjson.dumps(state))
        tenant = state["tenants"][0]
        app_id = tenant["applications"][0]["appId"]
        in_tenant = len(tenant["users"])
        del state
        started = time.perf_counter()
        with Emulators(state_dir=Path(folder), huma_state=None, entra_state=state_file) as emu:
            start_seconds = time.perf_counter() - started
            tls = ssl.create_default_context(cafile=str(emu.ca_bundle))
            form = {
                "grant_type": "client_credentials",
                "client_id": app_id,
                "client_secret": secret,
                "scope": "https://graph.microsoft.com/.default",
            }
            token = httpx.post(
                f"{emu.entra_url}/{tenant['id']}/oauth2/v2.0/token", data=form, verify=tls
            ).json()["access_token"]
            began = time.perf_counter()
            listed, pages = list_all(emu.entra_url, token, tls)
            seconds = time.perf_counter() - began
    if listed != in_tenant:
        raise SystemExit(f"listed {listed:,} users of the tenant's {in_tenant:,}")
    return {"users": listed, "pages": pages, "start": start_seconds, "list": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rows = [run(n, args.seed) for n in args.users]
    out = sys.stdout
    out.write("| users | pages | emulator start (s) | list all (s) | users/s | ms/page |\n")
    out.write("|---:|---:|---:|---:|---:|---:|\n")
    for r in rows:
        out.write(
            f"| {r['users']:,} | {r['pages']:,} | {r['start']:.1f} | {r['list']:.2f} | "
            f"{r['users'] / r['list']:,.0f} | {1000 * r['list'] / r['pages']:.1f} |\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
