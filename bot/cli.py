"""The `xiaoer` command: check, seed, train, run (and evaluate) the shop bot."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from bot import rehearsal, scale, settings
from bot.nlu import evaluation as ev
from bot.nlu.priors import IntentMixError, shop_mix
from bot.nlu.training import (
    ensure_model,
    ensure_shop_models,
    has_own_model,
    model_path,
    rasa_bin,
)
from bot.seed import (
    DEMO_LOGINS,
    DEMO_PASSWORD,
    ShopAddError,
    add_shop,
    demo_passwords_left,
    ensure_shop_rows,
    is_seeded,
    reset_and_seed,
)
from bot.servers import Ports, Servers, refusals
from bot.service import reports
from bot.shop import staffing
from bot.shop.config import ShopConfigError, load_shop, shop, shop_dir, shop_ids
from bot.shop.phrases import PhraseError, load_library
from bot.store import migrate
from bot.store.db import session_scope


def cmd_check(_: argparse.Namespace) -> int:
    """Validate shop.yml and the phrase library, as the servers do at start-up — and every
    other shop's (shops/<shop_id>/)."""
    cfg = load_shop()
    lib = load_library()
    shop_mix()  # the intent mix the classifier expects, if the shop sets its own
    print(f"shop.yml OK: {cfg.name}, {len(cfg.couriers)} couriers")
    print(f"responses/ OK: {len(lib.phrases)} phrases")
    for shop_id in shop_ids()[1:]:
        tenant = shop(shop_id)
        own = load_library(overrides=shop_dir(shop_id) / "responses", shop_id=shop_id)
        print(f"shops/{shop_id}/ OK: {tenant.name}, {len(tenant.couriers)} couriers, {len(own.phrases)} phrases")
    return 0


def cmd_shop(args: argparse.Namespace) -> int:
    """`xiaoer shop add <id> --name …`: a new shop on this server; `xiaoer shop list`."""
    if args.shop_command == "list":
        for shop_id in shop_ids():
            print(f"{shop_id}\t{shop(shop_id).name}")
        return 0
    try:
        path = add_shop(args.shop_id, args.name, args.short_name)
    except (ShopAddError, ShopConfigError) as err:
        print(f"xiaoer shop add: {err}", file=sys.stderr)
        return 2
    print(f"added shop {args.shop_id} ({args.name}) to {settings.database_url()}")
    print(f"  its facts: {path} — edit them, then `xiaoer check`")
    print(f"  its own phrases: {path.parent / 'responses'}/*.yml (same ids as responses/)")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    if is_seeded() and not args.reset:
        print(f"database already has the demo shop ({settings.database_url()}); use --reset to recreate it")
        return 0
    reset_and_seed()
    print(f"seeded the demo shop into {settings.database_url()}")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    """The shop database's schema: upgrade it in place, show its revision, or add a migration."""

    if args.action == "upgrade":
        before = migrate.current_revision()
        migrate.upgrade()
        print(f"database {settings.database_url()}: {before or 'unversioned'} → {migrate.current_revision()}")
    elif args.action == "current":
        print(f"database revision {migrate.current_revision() or 'none'}; newest {migrate.head_revision()}")
    else:
        if not args.message:
            print("a new migration needs -m 'what changes'", file=sys.stderr)
            return 2
        migrate.upgrade()
        migrate.revision(args.message)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """The shared model, or with --shop a shop's own (its examples and words over the shared)."""
    if args.shop:
        shop_id = shop(args.shop).shop_id
        if not has_own_model(shop_id):
            print(
                f"error: shop {shop_id} has no examples of its own (shops/{shop_id}/data/nlu/*.yml); "
                "its buyers are read by the shared model",
                file=sys.stderr,
            )
            return 2
    else:
        shop_id = None
    target = model_path(config=args.config, shop_id=shop_id)
    if target.exists() and not args.force:
        print(f"model is up to date: {target.relative_to(settings.ROOT)}")
        return 0
    started = time.monotonic()
    path = ensure_model(config=args.config, force=args.force, shop_id=shop_id)
    print(f"trained {path.relative_to(settings.ROOT)} in {time.monotonic() - started:.0f}s")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Train if needed, parse every held-back split (or the one --split names), print and save
    a report per split and the splits side by side."""
    model = ensure_model(config=args.config)
    splits = {Path(args.split).parent.name: args.split} if args.split else ev.SPLITS
    # The production config's reports are reports/nlu*.md; an alternative's go to
    # reports/tuning/, so comparing never overwrites the current figures.
    production = Path(args.config) == Path(settings.NLU_CONFIG)
    out = settings.ROOT / "reports" / ("" if production else "tuning")
    prefix = "nlu" if production else Path(args.config).stem
    out.mkdir(parents=True, exist_ok=True)
    training = ev.load_training_texts()
    reports = {}
    for name, glob in splits.items():
        examples = ev.load_holdout(split=glob)
        if not examples:
            print(f"no labelled messages match {glob!r}", file=sys.stderr)
            return 2
        print(f"evaluating {model.name} on the {len(examples)} messages of {name} ({glob}) …")
        report = ev.score(examples, ev.predict(model, examples))
        report.near_duplicates = ev.near_duplicates(examples, training)
        text = ev.markdown(report, f"NLU evaluation: {args.config} on {name} ({glob})")
        (out / f"{prefix}_{name}.md").write_text(text, encoding="utf-8")
        ev.confusion_png(report, out / f"{prefix}_{name}.png")
        reports[name] = report
    table = ev.side_by_side(reports, f"NLU evaluation: {args.config}, {model.name}")
    print(table)
    if not args.split:
        (out / f"{prefix}.md").write_text(table, encoding="utf-8")
    print(f"saved {out}/{prefix}*.md (one report per split, every misread message listed)")
    if args.folds:
        print(f"running {args.folds}-fold cross-validation on the training data (rasa test nlu) …")
        return subprocess.call(
            [
                rasa_bin(),
                "test",
                "nlu",
                "--nlu",
                "data",
                "--config",
                args.config,
                "--cross-validation",
                "--folds",
                str(args.folds),
                "--out",
                str(reports / "cross-validation"),
            ],
            cwd=settings.ROOT,
        )
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Two trained models on every held-back split, as one JSON object (the trainer page
    reads it): {split: {"live": summary, "candidate": summary}}."""

    models = {"live": Path(args.live), "candidate": Path(args.candidate)}
    missing = [str(p) for p in models.values() if not p.exists()]
    if missing:
        print(f"no such model: {', '.join(missing)}", file=sys.stderr)
        return 2
    print(json.dumps(ev.compare(models), ensure_ascii=False))
    return 0


def _replica_lines(servers: Servers, backing: "scale.Backing | None") -> str:
    if backing is None or backing.postgres is None or backing.redis is None:
        return ""
    return (
        f"  replicas:                 {servers.replicas} Rasa + action servers, "
        f"behind nginx on port {servers.ports.rasa}\n"
        f"  PostgreSQL / Redis:       127.0.0.1:{backing.postgres.port} / 127.0.0.1:{backing.redis.port} "
        f"(passwords in {backing.folder})\n"
    )


def cmd_run(args: argparse.Namespace) -> int:
    """Seed if needed, train if needed, then start the three servers and keep them up —
    or, with --replicas N, PostgreSQL, Redis, N Rasa servers behind nginx, and the console."""
    load_shop()
    load_library()
    shop_mix()
    if args.replicas < 1:
        print("--replicas: at least 1", file=sys.stderr)
        return 2
    backing = None
    if args.replicas > 1:
        print(f"starting PostgreSQL and Redis for {args.replicas} replicas …", flush=True)
        backing = scale.Backing().start()
        os.environ.update(backing.env)  # the shop database is PostgreSQL from here on
    try:
        return _run(args, backing)
    finally:
        if backing is not None:
            backing.stop()


def _run(args: argparse.Namespace, backing: "scale.Backing | None") -> int:
    if not is_seeded():
        reset_and_seed()
        print("seeded the demo shop")
    ensure_shop_rows()
    problems = refusals(args.host, demo_passwords_left())
    if problems:
        print(f"refusing to listen on {args.host}:\n  - " + "\n  - ".join(problems), file=sys.stderr)
        print("(on 127.0.0.1 the demo runs as it is; see the README, 'Security')", file=sys.stderr)
        return 2
    ports = Ports(args.rasa_port, args.actions_port, args.console_port)
    taken = [f"{name} port {port}" for name, port in vars(ports).items() if not port_free(args.host, port)]
    if taken:
        print(
            f"{', '.join(taken)} on {args.host} already in use (another `xiaoer run`?). Stop it, or start on "
            "other ports: xiaoer run --console-port 8080 --rasa-port 5006 --actions-port 5056",
            file=sys.stderr,
        )
        return 2
    model = ensure_model()
    shop_models = ensure_shop_models(shop_ids())
    redis_url = backing.redis.url if backing is not None and backing.redis is not None else None
    servers = Servers(
        model=model, shop_models=shop_models, ports=ports, host=args.host, replicas=args.replicas, redis_url=redis_url
    )
    if servers.replicated:
        print(f"starting {args.replicas} Rasa servers with their action servers, nginx and the console …", flush=True)
    else:
        print("starting the action server, the Rasa server and the console …", flush=True)
    started = time.monotonic()
    servers.start()
    _share_webhook_secret(servers.env["XIAOER_WEBHOOK_SECRET"])
    urls = servers.urls
    demo = f"   (demo: {DEMO_LOGINS}, password {DEMO_PASSWORD})" if settings.demo() else ""
    rest = (
        f"  Rasa REST channel:        {urls['rasa']}/webhooks/rest/webhook   (development only)\n"
        if servers.rest_channel
        else ""
    )
    print(
        f"""
ready in {time.monotonic() - started:.0f}s
  store chat page (buyer):  {urls["console"]}/
  agent workbench:          {urls["console"]}/workbench{demo}
  queue:                    {urls["console"]}/queue
  trainer (misread review): {urls["console"]}/trainer
  supervisor:               {urls["console"]}/reports   /peak   /staffing   /rehearsal   /shops
{rest}  console protocol channel: {urls["rasa"]}/webhooks/console/webhook
  action server:            {urls["actions"]}/health
{_replica_lines(servers, backing)}  logs:                     {servers.log_dir}
Press Ctrl-C to stop.""",
        flush=True,
    )  # fmt: skip

    def _stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        while True:
            servers.revive()  # a crashed server comes back, with backoff, and says so
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nstopping …", flush=True)
    finally:
        servers.stop()
        settings.RUN_WEBHOOK_SECRET_FILE.unlink(missing_ok=True)
        print("stopped.")
    return 0


def _share_webhook_secret(secret: str) -> None:
    """For consoles on this machine (`xiaoer rehearse`): readable by this user only."""
    path = settings.RUN_WEBHOOK_SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret)


def cmd_staffing(args: argparse.Namespace) -> int:
    """The Double 11 staffing plan (handbook §6), hour by hour, with its intermediate figures:
    the shop's curve, the bot's share from the shop's last rehearsal."""
    cfg = shop(args.shop)
    bot_resolution = args.bot_resolution
    if bot_resolution is None:
        bot_resolution = staffing.rehearsed_resolution(cfg.shop_id)
        if bot_resolution is not None:
            report = staffing.rehearsal_file(cfg.shop_id).name
            print(f"bot resolution from the last rehearsal ({report}): {bot_resolution:.1%}")
    try:
        plan = staffing.plan(
            sales=args.sales,
            service_share=args.service_share,
            avg_order=args.avg_order,
            conversion=args.conversion,
            capacity=args.capacity,
            curve=cfg.peak.hourly_curve,
            bot_resolution=bot_resolution or 0.0,
        )
    except staffing.StaffingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("\n".join(staffing.summary_lines(plan)))
    print()
    print(f"{'hour':>6} {'share':>7} {'receptions':>11} {'for people':>11} {'agents':>7} {'without bot':>12}")
    for h in plan.hours:
        print(
            f"{h.start:>6} {h.share:>7.1%} {h.receptions:>11.1f} {h.for_people:>11.1f} {h.agents:>7} "
            f"{h.agents_without_bot:>12}"
        )
    print(f"{'total':>6} {'':>7} {plan.total_receptions:>11.1f} {plan.receptions_for_people:>11.1f} "
          f"{plan.agent_hours:>7} {sum(h.agents_without_bot for h in plan.hours):>12}  (agent-hours)")  # fmt: skip
    if args.chart:
        Path(args.chart).parent.mkdir(parents=True, exist_ok=True)
        staffing.chart(plan, args.chart)
        print(f"chart: {args.chart}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """The manager's daily summary (bot/service/reports.py): printed as markdown, saved with a chart."""
    cfg = shop(args.shop)
    try:
        day = datetime.strptime(args.day, "%Y-%m-%d").date()
    except ValueError:
        print(f"error: --day {args.day!r} is not a date (YYYY-MM-DD)", file=sys.stderr)
        return 2
    with session_scope() as session:
        report = reports.build(session, cfg, cfg.shop_id, day)
    text = reports.markdown(report, cfg.name)
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    md, png = out / f"report-{day.isoformat()}.md", out / f"report-{day.isoformat()}.png"
    md.write_text(text, encoding="utf-8")
    reports.chart(report, png)
    print(f"saved: {md} and {png}")
    return 0


def cmd_rehearse(args: argparse.Namespace) -> int:
    """Replay the Double 11 night at N× speed through the console channel of the running stack:
    the shop's buyers, by default into the report its staffing page reads."""
    cfg = shop(args.shop)
    out = Path(args.out) if args.out else staffing.rehearsal_file(cfg.shop_id)
    try:
        rep = rehearsal.rehearse(
            cfg,
            speed=args.speed,
            window=args.window,
            receptions=args.receptions,
            rasa_url=args.rasa_url,
            out=out,
            seed=args.seed,
        )
    except rehearsal.RehearsalError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(rehearsal.markdown(rep))
    print(f"written: {out}, {out.with_suffix('.md')}, {out.with_suffix('.png')}")
    return 0 if rep["lost"] == 0 else 1


def port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xiaoer", description="店小二: the shop's chat assistant")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="validate shop.yml and the phrase library").set_defaults(func=cmd_check)
    shops = sub.add_parser("shop", help="the shops this server serves")
    shop_sub = shops.add_subparsers(dest="shop_command", required=True)
    add = shop_sub.add_parser("add", help="add a shop: shops/<id>/shop.yml, its phrases folder, its row")
    add.add_argument("shop_id", help="lower-case letters, digits, _ or -")
    add.add_argument("--name", required=True, help="the shop's name, as buyers read it")
    add.add_argument("--short-name", dest="short_name", default=None)
    shop_sub.add_parser("list", help="the configured shops")
    shops.set_defaults(func=cmd_shop)
    seed = sub.add_parser("seed", help="create the demo shop's database")
    seed.add_argument("--reset", action="store_true", help="drop and recreate the shop data")
    seed.set_defaults(func=cmd_seed)
    db = sub.add_parser("db", help="the shop database's schema (Alembic migrations)")
    db.add_argument(
        "action",
        choices=["upgrade", "current", "revision"],
        help="upgrade: to the newest schema, rows kept; current: show the revision; "
        "revision: add a migration from the models",
    )
    db.add_argument("-m", "--message", help="for revision: what the migration changes")
    db.set_defaults(func=cmd_db)
    train = sub.add_parser("train", help="train the model if training data or config changed")
    train.add_argument("--config", default=settings.NLU_CONFIG)
    train.add_argument("--force", action="store_true")
    train.add_argument("--shop", default=None, metavar="SHOP_ID", help="train this shop's own model")
    train.set_defaults(func=cmd_train)
    ev = sub.add_parser("eval", help="evaluate the NLU on every held-back split")
    ev.add_argument("--config", default=settings.NLU_CONFIG)
    ev.add_argument("--folds", type=int, default=0, help="also run k-fold cross-validation")
    ev.add_argument(
        "--split",
        default=None,
        metavar="GLOB",
        help="labelled messages to test on (Rasa NLU files), default: every held-back split",
    )
    ev.set_defaults(func=cmd_eval)
    cmp = sub.add_parser("compare", help="two trained models on every held-back split, as JSON")
    cmp.add_argument("--live", required=True, help="the model in service (a .tar.gz)")
    cmp.add_argument("--candidate", required=True, help="the newly trained model")
    cmp.set_defaults(func=cmd_compare)
    run = sub.add_parser("run", help="start the bot: action server, Rasa server and console")
    run.add_argument("--host", default=settings.HOST, help="where to listen (default 127.0.0.1; see README, Security)")
    run.add_argument("--rasa-port", type=int, default=settings.RASA_PORT)
    run.add_argument("--actions-port", type=int, default=settings.ACTIONS_PORT)
    run.add_argument("--console-port", type=int, default=settings.CONSOLE_PORT)
    run.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="N Rasa servers, each with an action server, behind nginx, on PostgreSQL and Redis "
        "started here from Debian's packages (README, Scaling out); default 1: SQLite, one process each",
    )
    run.set_defaults(func=cmd_run)
    staff = sub.add_parser("staffing", help="the Double 11 staffing plan, agents per hour (handbook §6)")
    staff.add_argument("--sales", type=float, required=True, metavar="YUAN", help="the store's sales for the night")
    staff.add_argument(
        "--service-share", type=float, required=True, metavar="FRACTION", help="share sold through agents"
    )
    staff.add_argument("--avg-order", type=float, required=True, metavar="YUAN", help="agents' average order value")
    staff.add_argument("--conversion", type=float, required=True, metavar="FRACTION", help="inquiry conversion rate")
    staff.add_argument(
        "--capacity", type=float, required=True, metavar="RECEPTIONS", help="one agent's saturated receptions per hour"
    )
    staff.add_argument(
        "--bot-resolution",
        type=float,
        default=None,
        metavar="FRACTION",
        help="share the bot resolves alone (default: the shop's last rehearsal's, if any)",
    )
    staff.add_argument("--shop", default=None, metavar="SHOP_ID", help="which shop (default: shop.yml's)")
    staff.add_argument(
        "--chart", default=None, metavar="PNG", help="also draw agents per hour, e.g. reports/staffing.png"
    )
    staff.set_defaults(func=cmd_staffing)
    rep = sub.add_parser("report", help="the manager's daily summary: printed, saved as markdown and a PNG")
    rep.add_argument("--day", required=True, metavar="YYYY-MM-DD", help="the day, in shop time")
    rep.add_argument("--out", default="reports/daily", metavar="DIR", help="where report-DAY.md/.png go")
    rep.add_argument("--shop", default=None, metavar="SHOP_ID", help="which shop (default: shop.yml's)")
    rep.set_defaults(func=cmd_report)
    reh = sub.add_parser("rehearse", help="replay the Double 11 night at N× speed against the running stack")
    reh.add_argument("--speed", type=float, default=10, help="times faster than the night (default 10)")
    reh.add_argument(
        "--window", default="23:30-00:30", help="the part of the night, HH:MM-HH:MM (default the midnight top hour)"
    )
    reh.add_argument("--receptions", type=int, default=2000, help="the whole night's buyers (default 2000)")
    reh.add_argument("--rasa-url", default=settings.RASA_URL, help="the running stack's Rasa (console channel)")
    reh.add_argument(
        "--out",
        default=None,
        help="the report (.json, beside it .md and .png); default: the shop's, which its staffing reads: "
        "reports/rehearsal.json, another shop's reports/rehearsal-SHOP_ID.json",
    )
    reh.add_argument("--shop", default=None, metavar="SHOP_ID", help="which shop's buyers (default: shop.yml's)")
    reh.add_argument("--seed", type=int, default=11, help="the same seed replays the same night")
    reh.set_defaults(func=cmd_rehearse)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except Exception as exc:  # a clear one-line error for the known failure kinds
        if isinstance(exc, (PhraseError, ShopConfigError, IntentMixError, RuntimeError)):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
