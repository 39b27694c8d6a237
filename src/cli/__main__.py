"""`bplab`: status, watch and check the running lab. Errors are one line and a non-zero exit."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live

from backpressure_lab.cli.checks import Apply, apply_over_http, apply_with_kubectl, reset, run_checks
from backpressure_lab.cli.client import LabClient, LabError
from backpressure_lab.cli.cluster import Cluster
from backpressure_lab.cli.exercises import EXERCISES, Exercise, exercise
from backpressure_lab.cli.hints import forget, next_hint
from backpressure_lab.cli.report import check_output, record, record_exercise, write_report
from backpressure_lab.cli.tour import Tour, Where
from backpressure_lab.cli.views import History, status_view, take_snapshot, watch_view

STATUS_RATE_SECONDS = 1.0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="bplab", description="Status, live view and exercise checks of the lab.")
    root.add_argument("--producer", default=os.environ.get("BPLAB_PRODUCER_URL", "http://localhost:8000"))
    root.add_argument("--consumer", default=os.environ.get("BPLAB_CONSUMER_URL", "http://localhost:8001"))
    root.add_argument(
        "--token", default=os.environ.get("BPLAB_ADMIN_TOKEN"),
        help="admin token (with --cluster: read from the release's admin Secret)",
    )  # fmt: skip
    root.add_argument(
        "--cluster", action="store_true",
        help="the kind lab: apply exercises with kubectl (BackpressureConfig) and show OOM kills and restarts",
    )  # fmt: skip
    root.add_argument("--namespace", default="backpressure-lab")
    root.add_argument("--context", default=None, help="kubectl context (default: the current one)")
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="a one-shot summary of producer, consumer, config and OOM kills")
    watch = commands.add_parser("watch", help="a live terminal view")
    watch.add_argument("--interval", type=float, default=0.4, help="seconds between refreshes (default 0.4)")
    watch.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    check = commands.add_parser("check", help="run an exercise's check: PASS or FAIL with the figures seen")
    check.add_argument(
        "exercise",
        nargs="+",
        help="exercise numbers (" + ", ".join(str(e.number) for e in EXERCISES) + "), run in the order given, or all",
    )
    commands.add_parser("reset", help="back to the baseline: every default, one consumer, an empty queue")
    hint = commands.add_parser("hint", help="a hint for an exercise; again for the next one")
    hint.add_argument("exercise", help="an exercise number")
    solve = commands.add_parser(
        "solve", help="apply exactly what an exercise needs, check it, and leave it applied (bplab reset undoes it)"
    )
    solve.add_argument("exercise", help="an exercise number")
    tour = commands.add_parser(
        "tour", help="the exercises in order: what to type, a watch until it takes effect, the check, what it showed"
    )
    tour.add_argument("--from", dest="first", type=int, default=1, help="start (or resume) at this exercise")
    tour.add_argument("--to", dest="last", type=int, default=None, help="stop after this exercise")
    tour.add_argument("--wait", type=float, default=None, help="seconds to wait for each change (default: no limit)")
    report = commands.add_parser(
        "report", help="record the lab (an exercise, or --seconds of it) and draw it in one PNG: no Grafana needed"
    )
    report.add_argument("exercise", nargs="?", help="an exercise number: from the baseline, through it, and back")
    report.add_argument("--seconds", type=float, default=None, help="how long to record (default: the exercise's "
                        "own time, or 60 s without one)")  # fmt: skip
    report.add_argument("--output", type=Path, default=None, help="the PNG to write (default report-N.png or "
                        "report.png); its figures go beside it as .json")  # fmt: skip
    return root


def cluster_facts(cluster: Cluster | None) -> tuple[int | None, int | None, dict[str, Any] | None]:
    if cluster is None:
        return None, None, None
    status = cluster.config().get("status", {})
    return int(status.get("oomKills", 0)), cluster.producer_restarts(), status


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console = Console()
    client = LabClient(args.producer.rstrip("/"), args.consumer.rstrip("/"), None if args.cluster else args.token)
    cluster = Cluster(args.namespace, args.context) if args.cluster else None
    target = f"cluster namespace {args.namespace}" if cluster else f"local {args.producer}"
    try:
        if cluster is not None:
            cluster.check_context()
            # The checks clear the producer's queue over /admin/*, which the chart protects with its token.
            client = dataclasses.replace(client, token=args.token or cluster.admin_token())
        return run(args, client, cluster, console, target)
    except LabError as error:
        print(f"bplab: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def run(args: argparse.Namespace, client: LabClient, cluster: Cluster | None, console: Console, target: str) -> int:
    """The command's work; 0 when it did what was asked, 1 when a check failed."""
    if args.command == "status":
        oom, restarts, config_status = cluster_facts(cluster)
        # Two looks a second apart: rates need an interval, and one snapshot would show every rate as 0.
        first = take_snapshot(client, oom, restarts)
        time.sleep(STATUS_RATE_SECONDS)
        console.print(status_view([first, take_snapshot(client, oom, restarts)], config_status, target))
    elif args.command == "watch":
        watch(client, cluster, target, args.interval, args.duration)
    elif args.command == "hint":
        print(next_hint(chosen_exercises([args.exercise])[0]))
    elif args.command == "reset":
        reset(client, _applier(client, cluster), None if cluster is None else cluster.scale_consumers)
        console.print("the lab is at the baseline (exercise 1's settings), with an empty queue")
    elif args.command == "solve":
        return solve(client, cluster, console, args.exercise)
    elif args.command == "tour":
        return tour(client, cluster, console, args)
    elif args.command == "report":
        report(client, cluster, console, args, target)
    else:
        return check(client, cluster, console, args.exercise)
    return 0


def watch(client: LabClient, cluster: Cluster | None, target: str, interval: float, duration: float | None) -> int:
    history = History()
    started = time.monotonic()
    oom, restarts, _ = cluster_facts(cluster)
    snapshot = take_snapshot(client, oom, restarts)
    history.add(snapshot)
    with Live(watch_view(snapshot, history, target), refresh_per_second=max(2, round(1 / interval)),
              screen=False) as live:  # fmt: skip
        while duration is None or time.monotonic() - started < duration:
            time.sleep(interval)
            if cluster is not None and int(time.monotonic() - started) % 5 == 0:
                oom, restarts, _ = cluster_facts(cluster)
            snapshot = take_snapshot(client, oom, restarts)
            history.add(snapshot)
            live.update(watch_view(snapshot, history, target))
    return 0


def chosen_exercises(which: list[str]) -> list[Exercise]:
    if which == ["all"]:
        return list(EXERCISES)
    chosen = []
    for number in which:
        if not number.isdigit():
            raise LabError(f"exercise must be a number or 'all' (got {number!r})")
        try:
            chosen.append(exercise(int(number)))
        except KeyError as error:
            raise LabError(str(error.args[0])) from None
    return chosen


def refuse_if_cluster_only(item: Exercise, cluster: Cluster | None, command: str) -> None:
    """An exercise that scales pods runs only against the cluster: say so, with the command that runs it there."""
    if cluster is None and item.needs_cluster:
        raise LabError(
            f"exercise {item.number} scales pods: it needs the cluster "
            f"(`make up`, then `bplab --cluster {command} {item.number}`)"
        )


def check(client: LabClient, cluster: Cluster | None, console: Console, which: list[str]) -> int:
    chosen = chosen_exercises(which)
    if len(chosen) == 1:
        refuse_if_cluster_only(chosen[0], cluster, "check")
    runnable = [item for item in chosen if cluster is not None or not item.needs_cluster]
    verdicts = run_checks(
        client, runnable, _applier(client, cluster), None if cluster is None else cluster.scale_consumers
    )
    failures = 0
    for item in chosen:
        console.print(f"[bold]{item.title}[/bold]: {item.summary}")
        if item not in runnable:
            console.print("[yellow]SKIP[/yellow] scales pods, so it runs only against the cluster (bplab --cluster)")
            continue
        _, verdict = next(verdicts)
        failures += not verdict.passed
        console.print(("[green]PASS[/green] " if verdict.passed else "[red]FAIL[/red] ") + verdict.figures)
    return 1 if failures else 0


def solve(client: LabClient, cluster: Cluster | None, console: Console, which: str) -> int:
    item = chosen_exercises([which])[0]
    refuse_if_cluster_only(item, cluster, "solve")
    console.print(f"[bold]{item.title}[/bold]: {item.summary}")
    scale = None if cluster is None else cluster.scale_consumers
    verdict = run_checks(client, [item], _applier(client, cluster), scale, leave_applied=True)
    _, seen = next(verdict)
    forget(item)
    console.print(("[green]PASS[/green] " if seen.passed else "[red]FAIL[/red] ") + seen.figures)
    console.print(f"The lab now runs exercise {item.number}'s settings; `bplab reset` returns it to the baseline.")
    return 0 if seen.passed else 1


def report(client: LabClient, cluster: Cluster | None, console: Console, args: argparse.Namespace, target: str) -> None:
    if args.seconds is not None and not 1 <= args.seconds <= 3600:
        raise LabError(f"--seconds must be between 1 and 3600 (got {args.seconds:g})")
    item = None if args.exercise is None else chosen_exercises([args.exercise])[0]
    png = args.output or Path("report.png" if item is None else f"report-{item.number}.png")
    check_output(png)
    if item is None:
        seconds = 60.0 if args.seconds is None else args.seconds
        console.print(f"recording the lab for {seconds:g} s ...")
        samples, title = record(client, seconds), f"The lab for {seconds:g} s ({target})"
    else:
        refuse_if_cluster_only(item, cluster, "report")
        console.print(f"recording {item.title} from the baseline ...")
        scale = None if cluster is None else cluster.scale_consumers
        samples = record_exercise(client, item, _applier(client, cluster), scale, args.seconds)
        title = f"{item.title}: {item.summary}"
    figures = write_report(samples, title, png)
    console.print(f"wrote {png} and its figures {figures}")


def tour(client: LabClient, cluster: Cluster | None, console: Console, args: argparse.Namespace) -> int:
    numbers = [item.number for item in EXERCISES]
    for flag, number in (("--from", args.first), ("--to", args.last)):
        if number is not None and number not in numbers:
            raise LabError(f"{flag} {number}: there is no such exercise (they are {numbers[0]} to {numbers[-1]})")
    last = numbers[-1] if args.last is None else args.last
    where = Where(None if cluster is None else cluster.namespace, client.producer_url, client.consumer_url)

    def show(command: str) -> None:
        console.print(command, markup=False, highlight=False, soft_wrap=True)

    guide = Tour(client, where, _applier(client, cluster), console.print, show,
                 None if cluster is None else cluster.scale_consumers, args.wait)  # fmt: skip
    return guide.run([item for item in EXERCISES if args.first <= item.number <= last])


def _applier(client: LabClient, cluster: Cluster | None) -> Apply:
    return apply_over_http(client) if cluster is None else apply_with_kubectl(client, cluster.apply)


def entry() -> None:
    raise SystemExit(main())


if __name__ == "__main__":
    entry()
