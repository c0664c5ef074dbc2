"""`huma-entra-sync demo` (what `make demo` runs): the product on the embedded default.

Starts the Huma and Entra ID / Graph emulators with a generated company and a local mail relay,
then runs the demo connection's nightly job twice with the real clients, engine, history and
report: first the activation, then after scripted changes on both sides (a new hire, a name
change in Huma, a phone changed in Entra, a conflict, a new hire with a private email, a
deactivated user); then HR changes one person's phone in Huma, the Huma emulator sends its
signed webhook to the product's receiver (served by the demo over TLS on loopback), the receiver
stores the event, the connection's webhook sensor asks for a targeted run and that run carries
the change to Entra, and the demo says how long it took from the change to the Graph write.
Everything it leaves lives in `var/demo/`: the reports, the mails, the history database and the
Dagster instance that `dagster dev` shows.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from reconcile.mapping import OPTIONAL_NAMES

DEMO_DIR = Path("var/demo")
CONNECTION = "demo"
RELAY_USER, RELAY_PASSWORD = "demo-relay", "demo-relay-password"
#: The variable naming the webhook secret, generated per demo (the name, not a secret).
WEBHOOK_SECRET_ENV = "HUMA_WEBHOOK_SECRET"  # noqa: S105
#: The optional fields the demo connection switches on (`policy.fields`; off by default).
QUERIES = {
    "What did the last run change?": """
        SELECT p.email_key, p.action, a.system, a.after
        FROM applied_changes AS a JOIN sync_plan AS p USING (run_id, change_id)
        WHERE a.run_id = (SELECT max_by(run_id, started_at) FROM runs WHERE mode = 'apply')
        ORDER BY p.email_key LIMIT 8""",
    "Which decisions are waiting?": """
        SELECT decision_kind, email_key, fields, reason FROM sync_plan_current
        WHERE status IN ('pending', 'stale')
          AND run_id = (SELECT max_by(run_id, started_at) FROM runs
                        WHERE mode = 'apply' AND scope = 'full')
        ORDER BY decision_kind, email_key LIMIT 8""",
    "How did each run end?": """
        SELECT started_at, mode, scope, scope_users, outcome, plan_rows, email_status
        FROM runs ORDER BY started_at""",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--users", type=int, default=120, help="people in the generated company")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated company")
    parser.add_argument(
        "--folder",
        type=Path,
        default=DEMO_DIR,
        help="where the demo keeps everything (emptied first; default %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns the process exit code."""
    from emulators.data import write_world
    from emulators.launcher import Emulators
    from emulators.smtp import MailServer

    started = time.perf_counter()
    folder: Path = args.folder.resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"Generating a company of {args.users} people and starting the emulators…")
    huma_state, entra_state = write_world(folder / "emulators", users=args.users, seed=args.seed)
    with (
        Emulators(
            state_dir=folder / "emulators", huma_state=huma_state, entra_state=entra_state
        ) as emulators,
        MailServer(
            tls_dir=folder / "emulators" / "tls",
            username=RELAY_USER,
            password=RELAY_PASSWORD,
            mailbox_dir=folder / "mail",
        ) as mail,
    ):
        _configure(folder, emulators, mail)
        print(f"  Huma:        {emulators.huma_url}")
        print(f"  Entra/Graph: {emulators.entra_url}")
        print(f"  mail relay:  {mail.host}:{mail.port} (STARTTLS, login)")
        job = _job()
        print("\nRun 1: the activation (the first sync of the connection)")
        first = _run(job)
        changes = _script_changes(emulators)
        print("\nBetween the runs, people changed things on both sides:")
        for change in changes:
            print(f"  - {change}")
        print("\nRun 2: the next night")
        second = _run(job)
        print("\nA webhook: HR changes one person's phone in Huma during the day")
        third = _webhook_run(folder, emulators)
    _print_where(folder, [first, second, third])
    _print_queries(folder / "history.duckdb")
    print(f"\nDone in {time.perf_counter() - started:.0f} s.")
    return 0


def _configure(folder: Path, emulators: Any, mail: Any) -> None:
    """The demo connection's file and the environment a deployment would have."""
    import yaml

    env = emulators.environment()
    group = env.pop("HUMA_DEFAULT_GROUP_ID")
    os.environ.update(env)
    connections = folder / "connections.yaml"
    connections.write_text(
        yaml.safe_dump(
            {
                "connections": {
                    CONNECTION: {
                        "huma": {
                            "base_url": env["HUMA_BASE_URL"],
                            "client_id_env": "HUMA_CLIENT_ID",
                            "client_secret_env": "HUMA_CLIENT_SECRET",
                            "default_group_id": group,
                            "webhook_secret_env": WEBHOOK_SECRET_ENV,
                        },
                        "entra": {
                            "tenant_id_env": "ENTRA_TENANT_ID",
                            "client_id_env": "ENTRA_CLIENT_ID",
                            "client_secret_env": "ENTRA_CLIENT_SECRET",
                            "authority_host": env["ENTRA_AUTHORITY_HOST"],
                            "graph_base_url": env["GRAPH_BASE_URL"],
                        },
                        "report": {
                            "recipients": ["it-admin@example.com"],
                            "sender": "huma-entra-sync@example.com",
                        },
                        "schedule": {"cron": "0 2 * * *", "timezone": "Europe/Oslo"},
                        "policy": {
                            "create_entra_users_automatically": True,
                            "initial_direction": {
                                "given_name": "huma_to_entra",
                                "family_name": "huma_to_entra",
                                **dict.fromkeys(OPTIONAL_NAMES, "huma_to_entra"),
                            },
                            # The optional fields, on for this connection (off by default).
                            "fields": list(OPTIONAL_NAMES),
                            # Switching them on fills them for nearly everyone at once: a mass
                            # change the demo lets through (a deployment overrides the guard once).
                            "mass_change_max_share": 1.0,
                        },
                    }
                }
            },
            sort_keys=False,
        )
    )
    os.environ.update(
        {
            "HUMA_ENTRA_SYNC_CONNECTIONS": str(connections),
            "HISTORY_DB_PATH": str(folder / "history.duckdb"),
            "REPORTS_DIR": str(folder / "reports"),
            "DAGSTER_HOME": str(folder / "dagster"),
            "SMTP_HOST": mail.host,
            "SMTP_PORT": str(mail.port),
            "SMTP_USERNAME": RELAY_USER,
            "SMTP_PASSWORD": RELAY_PASSWORD,
            # One bundle trusts the emulators and the relay: they share the demo's local CA.
            "SSL_CERT_FILE": str(mail.ca_bundle),
            # Shared by the Huma emulator (signing) and the receiver (checking); never printed.
            WEBHOOK_SECRET_ENV: secrets.token_urlsafe(32),
        }
    )


def _job():
    from assets.keys import job_name
    from pipelines.definitions import deployment_definitions

    return deployment_definitions().resolve_job_def(job_name(CONNECTION))


def _run(job) -> str:
    import dagster as dg
    import polars as pl

    from cli.console import dagster_instance
    from pipelines.in_process import execute_in_process

    result = execute_in_process(
        job,
        instance=dagster_instance(),
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        raise_on_error=True,
    )
    report = result.asset_value(dg.AssetKey([CONNECTION, "sync_report"]))
    planned = result.asset_value(dg.AssetKey([CONNECTION, "sync_plan"])).result
    plan = planned.sync_plan
    print(f"  {report['subject']}")
    for row in plan.group_by("action", "status").len().sort("action", "status").iter_rows():
        print(f"    {row[0]:<18} {row[1]:<14} {row[2]:>4}")
    optional = plan.filter(
        pl.col("fields").list.eval(pl.element().is_in(OPTIONAL_NAMES)).list.any()
        & (pl.col("action") == "update_entra")
    )
    print(
        f"    optional fields ({', '.join(OPTIONAL_NAMES)}): {optional.height} users' "
        "updates toward Entra"
    )
    _print_managers(plan, planned.validation_failures)
    waiting = plan.filter(pl.col("status").is_in(["pending", "stale"]))
    for row in waiting.head(4).iter_rows(named=True):
        print(f"    waiting: {row['decision_kind']:<14} {row['email_key']:<36} {row['reason']}")
    if waiting.height > 4:
        print(f"    … and {waiting.height - 4} more waiting (see the report)")
    blocked = plan.filter(pl.col("status") == "blocked")
    for row in blocked.head(3).iter_rows(named=True):
        print(f"    blocked: {row['action']:<14} {row['email_key']:<36} {row['blocked_reason']}")
    for kind, count in planned.notices.group_by("kind").len().sort("kind").iter_rows():
        print(f"    left alone on purpose: {count} {kind.replace('_', ' ')}")
    print(f"  email: {report['email']}")
    return result.run_id


def _print_managers(plan: Any, failures: Any) -> None:
    """What the run does about managers: set, changed or cleared in Entra, and the supervisors
    it could not resolve (never guessed)."""
    import orjson
    import polars as pl

    rows = plan.filter(
        pl.col("fields").list.contains("manager") & (pl.col("action") == "update_entra")
    )
    cleared = sum(orjson.loads(t).get("manager") is None for t in rows.get_column("to_values"))
    unlinked = failures.filter(pl.col("rule") == "unlinked_supervisor")
    print(
        f"    manager: {rows.height - cleared} set or changed and {cleared} cleared in Entra; "
        f"{unlinked.height} supervisors not linked (those managers left as they are)"
    )
    for row in unlinked.head(2).iter_rows(named=True):
        print(f"      {row['email_key']}: {row['message']}")


def _script_changes(emulators: Any) -> list[str]:
    """What people do in Huma and Entra between two nights (through the services' own means)."""
    from resources.huma_client import HumaClient

    huma, entra = emulators.admin("huma"), emulators.admin("entra")
    state = huma.state()
    tenant = entra.state()["tenants"][0]
    by_email = {u["mail"].casefold(): u for u in tenant["users"] if u.get("mail")}
    pairs = [
        (u, by_email[u["email"].casefold()])
        for u in state["users"]
        if u["status"]["active"] and u["email"].casefold() in by_email and u.get("phone")
    ]
    (renamed, _), (_, rephoned), (h_conflict, e_conflict), (leaver, _) = pairs[:4]
    domain = next(d["id"] for d in tenant["domains"] if d.get("isDefault"))
    group = state["groups"][0]["id"]
    done = []
    with HumaClient(
        base_url=emulators.huma_url,
        client_id=state["apiKeys"][0]["clientId"],
        client_secret=state["apiKeys"][0]["clientSecret"],
    ) as hr:
        hr.create_user(
            {
                "email": f"nora.nyansatt@{domain}",
                "givenName": "Nora",
                "familyName": "Nyansatt",
                "groups": [group],
            }
        )
        done.append(f"HR hired nora.nyansatt@{domain} in Huma")
        hr.create_user(
            {
                "email": "ola.privat@gmail.com",
                "givenName": "Ola",
                "familyName": "Privat",
                "groups": [group],
            }
        )
        done.append("HR hired ola.privat@gmail.com in Huma (a private email)")
    huma.call("PATCH", f"/users/{renamed['id']}", {"familyName": "Nordmann-Berg"})
    done.append(f"{renamed['email']} changed family name in Huma")
    entra.call(
        "PATCH",
        f"/tenants/{tenant['id']}/users/{rephoned['id']}",
        {"mobilePhone": "+47 400 12 345"},
    )
    done.append(f"{rephoned['userPrincipalName']} got a new phone in Entra")
    huma.call("PATCH", f"/users/{h_conflict['id']}", {"phone": "+47 411 11 111"})
    entra.call(
        "PATCH",
        f"/tenants/{tenant['id']}/users/{e_conflict['id']}",
        {"mobilePhone": "+47 422 22 222"},
    )
    done.append(f"{h_conflict['email']} changed phone in both (a conflict)")
    huma.call("PATCH", f"/users/{leaver['id']}", {"phone": "+47 433 33 333"})
    huma.call("POST", f"/users/{leaver['id']}/deactivate", {})
    done.append(f"{leaver['email']} left: a last phone change, then deactivated in Huma")
    done += _script_manager_changes(huma, [u for u, _ in pairs[4:]])
    return done


def _script_manager_changes(huma: Any, linked: list[dict[str, Any]]) -> list[str]:
    """One linked person moves to another (linked) supervisor in Huma; one loses theirs."""
    supervised = [u for u in linked if u.get("supervisor")]
    mover, unsupervised = supervised[0], supervised[1]
    for boss in linked:
        # Huma refuses a supervisor below the person (a loop): the next candidate is taken.
        if boss["id"] not in (mover["id"], mover["supervisor"]):
            try:
                huma.set_huma_supervisor(mover["id"], boss["id"])
            except RuntimeError:
                continue
            break
    huma.set_huma_supervisor(unsupervised["id"], None)
    return [
        f"{mover['email']} moved to supervisor {boss['email']} in Huma",
        f"{unsupervised['email']} has no supervisor any more in Huma",
    ]


def _webhook_run(folder: Path, emulators: Any) -> str:
    """Change one linked person's phone in Huma with the receiver listening, wait for Huma's
    delivery to be stored, evaluate the webhook sensor, run the targeted run it asks for, and
    show the change in Entra with the time from the change to the Graph write."""
    from datetime import UTC, datetime

    import dagster as dg

    from cli.console import dagster_instance
    from cli.demo_webhook import huma_sending_to_receiver, wait_for_event
    from pipelines.definitions import deployment_definitions
    from pipelines.webhook_runs import tick_and_run
    from resources.webhook_events import WebhookEventStore, event_store_path

    huma, entra = emulators.admin("huma"), emulators.admin("entra")
    by_email = {
        u["mail"].casefold(): u for u in entra.state()["tenants"][0]["users"] if u.get("mail")
    }
    person = next(
        u
        for u in reversed(huma.state()["users"])
        if u["status"]["active"] and u.get("phone") and u["email"].casefold() in by_email
    )
    entra_id = by_email[person["email"].casefold()]["id"]
    phone = "+47 466 00 466"
    history = os.environ["HISTORY_DB_PATH"]
    store = WebhookEventStore(event_store_path(Path(history), CONNECTION))
    since = max((e["seq"] for e in entra.requests()), default=0)
    with huma_sending_to_receiver(
        huma,
        CONNECTION,
        os.environ[WEBHOOK_SECRET_ENV],
        folder / "emulators" / "tls",
        emulators.ca_bundle,
    ):
        changed_at = datetime.now(UTC)
        started = time.perf_counter()
        huma.call("PATCH", f"/users/{person['id']}", {"phone": phone})
        wait_for_event(store, huma)
    stored = time.perf_counter() - started
    print(
        f"  {person['email']}: phone {person['phone']} → {phone} in Huma; Huma's webhook "
        f"delivered, signed, and stored by the receiver {stored:.2f} s later"
    )
    result = tick_and_run(deployment_definitions(), dagster_instance(), CONNECTION, history)
    took = time.perf_counter() - started
    if isinstance(result, dg.SkipReason):
        raise RuntimeError(f"the webhook sensor asked for no run: {result.skip_message}")
    if not result.success:
        raise RuntimeError(f"the targeted run {result.run_id} failed")
    report = result.asset_value(dg.AssetKey([CONNECTION, "sync_report"]))
    now = next(u for u in entra.state()["tenants"][0]["users"] if u["id"] == entra_id)
    written = [
        datetime.fromisoformat(e["at"])
        for e in entra.requests(since=since, method="PATCH")
        if e["path"].endswith(f"/users/{entra_id}") and e["status"] == 204
    ]
    print(f"  the sensor asked for run {result.run_id} (targeted, 1 user); {report['subject']}")
    print(f"  Entra now: mobilePhone {now.get('mobilePhone')}")
    if written:
        print(
            f"  Graph was written {(written[0] - changed_at).total_seconds():.1f} s after the "
            f"change in Huma (delivery, sensor tick and targeted run took {took:.1f} s in all)"
        )
    print(f"  email: {report['email']}")
    return result.run_id


def _print_where(folder: Path, run_ids: list[str]) -> None:
    from resources.history.files import published_path

    relative = folder.relative_to(Path.cwd()) if folder.is_relative_to(Path.cwd()) else folder
    reports = sorted(
        (folder / "reports" / CONNECTION).glob("*/report.html"), key=lambda p: p.stat().st_mtime
    )
    mails = sorted((folder / "mail").glob("*.eml"))
    print("\nWhere everything is")
    print(f"  reports:  {reports[-1] if reports else '(none)'}  (HTML, text and CSV per run)")
    print(f"  emails:   {relative / 'mail'}/ ({len(mails)} received by the demo relay)")
    print(f"  history:  {relative / 'history.duckdb'}  (DuckDB; tables in README.md)")
    print(
        f"            analysts: duckdb -readonly {published_path(relative / 'history.duckdb')}"
        "  (the copy each run publishes)"
    )
    # Dagster wants an absolute DAGSTER_HOME.
    print(
        "  the UI:   HUMA_ENTRA_SYNC_CONNECTIONS="
        f"{relative / 'connections.yaml'} DAGSTER_HOME={folder.resolve() / 'dagster'} "
        f"{_launcher('dagster')} dev -w workspace.yaml"
    )
    print(f"            then http://127.0.0.1:3000/runs/{run_ids[-1]}")
    print(
        "  decide:   HUMA_ENTRA_SYNC_CONNECTIONS="
        f"{relative / 'connections.yaml'} HISTORY_DB_PATH={relative / 'history.duckdb'} "
        f"{_launcher('huma-entra-sync')} decisions list"
    )


def _launcher(script: str) -> str:
    """How this shell starts one of the project's scripts: `uv run` when uv is on the PATH (else
    `make` installed it out of sight), the virtual environment's script otherwise."""
    if shutil.which("uv"):
        return f"uv run {script}"
    scripts = Path(sys.executable).parent
    if scripts.is_relative_to(Path.cwd()):
        scripts = scripts.relative_to(Path.cwd())
    return str(scripts / script)


def _print_queries(history: Path) -> None:
    import duckdb

    from resources.history.files import published_path

    print("\nThree questions for the history (read-only; analysts use the same SQL)")
    with duckdb.connect(str(published_path(history)), read_only=True) as conn:
        for question, sql in QUERIES.items():
            print(f"\n  {question}\n  {' '.join(sql.split())}")
            print("  " + str(conn.sql(sql)).replace("\n", "\n  "))
