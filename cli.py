"""memchat's command line: parse, call the Python API, render with rich. The only module that prints.

Errors from the packages are translated here, once, into a message and an exit code (1 for a
problem with the input or the store, 2 for a usage error); tracebacks only with --debug.
"""

from __future__ import annotations

import dataclasses
import fcntl
import functools
import importlib
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from assistant.errors import AssistantError
from memory_store import Fact, FactNotFound, Hit, MemoryStore, MemoryStoreError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DURATION = re.compile(r"^([+-]?)(\d+(?:\.\d+)?)\s*(s|m|h|d|w|y)$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


def esc(value: object) -> str:
    """User text inside a rich markup string: brackets are shown, never interpreted."""
    return escape(str(value))


# -- parsing helpers ------------------------------------------------------------------------------
def parse_duration(text: str) -> timedelta:
    """'7d', '+12h', '-2w', '1y' -> timedelta. Raises ValueError with a hint."""
    m = DURATION.match(text.strip().lower())
    if not m:
        raise ValueError(f"{text!r} is not a duration like 30m, 12h, 7d, 2w or 1y")
    seconds = float(m.group(2)) * UNITS[m.group(3)]
    if seconds > 1000 * UNITS["y"]:
        raise ValueError(f"{text!r} is longer than a thousand years")
    return timedelta(seconds=-seconds if m.group(1) == "-" else seconds)


def parse_now(text: str | None, real_now: datetime) -> datetime | None:
    """--now: an ISO-8601 date/time (UTC unless it says otherwise), 'now', or an offset like +30d."""
    if text is None:
        return None
    text = text.strip()
    if text.lower() == "now":
        return real_now
    if text[:1] in "+-" or DURATION.match(text.lower()):
        return shifted(real_now, parse_duration(text))
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a time: use ISO-8601 (2026-03-01 or 2026-03-01T09:30) or an offset like +30d")
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def shifted(now: datetime, offset: timedelta) -> datetime:
    """now + offset, refusing what a datetime cannot hold."""
    try:
        return now + offset
    except OverflowError:
        raise ValueError(f"{offset.days} days from {now:%Y-%m-%d} is beyond what a date can hold") from None


def default_home() -> Path:
    """$MEMCHAT_HOME, else the user's data directory ($XDG_DATA_HOME or ~/.local/share)/memchat."""
    if os.environ.get("MEMCHAT_HOME"):
        return Path(os.environ["MEMCHAT_HOME"]).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "memchat"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "memchat"


def default_data_dir(name: str) -> Path | None:
    """The shared data folder beside the checkout (../shared/data/NAME), when it exists."""
    candidate = Path(__file__).resolve().parent.parent / "shared" / "data" / name
    return candidate if candidate.exists() else None


def read_text_argument(text: str) -> str:
    """TEXT, or '-' for standard input (which must be valid UTF-8)."""
    if text != "-":
        return text
    raw = sys.stdin.buffer.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise click.UsageError(f"standard input is not valid UTF-8 (byte {e.start}); nothing was stored")


class FactId(click.ParamType):
    """A fact id; anything else is refused with what to type instead (the fact's text is not an id)."""

    name = "ID"
    HINTS = {
        "restore": "`memchat facts --all` lists forgotten and dormant facts with their ids",
        "edit": 'give the id first, then the new text: memchat edit 12 "new text"; `memchat search TEXT` finds the id',
        "explain": "`memchat search {value}` finds the fact and shows its id",
        "history": "`memchat history` alone shows the whole log; `memchat search {value}` finds a fact's id",
    }

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if text.isdigit():
            return int(text)
        command = ctx.command.name if ctx is not None and ctx.command is not None else "this command"
        hint = self.HINTS.get(command, "`memchat facts` lists the ids").format(value=json.dumps(text))
        self.fail(f"{command} takes a fact id (a number, see `memchat facts`), not {text!r}; {hint}", param, ctx)


# -- the application object, built once in the group callback ------------------------------------
@dataclasses.dataclass
class App:
    home: Path
    user: str
    now: datetime | None
    _store: MemoryStore | None = None
    warned: bool = False  # the store's privacy warning is given once

    @property
    def store(self) -> MemoryStore:
        if self._store is None:
            with lazy_progress("Building the word index (once, for a store from before it)") as report:
                self._store = MemoryStore.open(self.home, progress=report)
        if self._store.exposed and not self.warned:
            self.warned = True
            err.print(f"[yellow]warning:[/] the memory store at {esc(self.home)} can be read by other accounts on this "
                      f"machine ({len(self._store.exposed)} path(s)); make it private: chmod -R go-rwx {esc(self.home)}")
        return self._store

    @property
    def at(self) -> datetime:
        """The time views are judged at: --now, else the clock (nothing is written for viewing)."""
        return self.now or datetime.now(timezone.utc)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


pass_app = click.make_pass_decorator(App)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--home", type=click.Path(path_type=Path), default=None,
              help="Store directory. Default: $MEMCHAT_HOME, else ~/.local/share/memchat.")
@click.option("--user", default="default", show_default=True, help="Whose memory to use.")
@click.option("--now", "now_text", default=None, metavar="TIME",
              help="Pretend it is TIME: 2026-03-01, 2026-03-01T09:30, or an offset like +30d.")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(package_name="memchat")
@click.pass_context
def cli(ctx: click.Context, home: Path | None, user: str, now_text: str | None, debug: bool) -> None:
    """memchat: a local assistant with a long-term memory that forgets.

    \b
    Examples:
      memchat add "My sister Ana lives in Lisbon."
      memchat search "where does my sister live?"
      memchat --now +90d decay --dry-run
    """
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        now = parse_now(now_text, datetime.now(timezone.utc))
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--now")
    app = App(home=home or default_home(), user=user, now=now)
    ctx.obj = app
    ctx.call_on_close(app.close)


# -- rendering ------------------------------------------------------------------------------------
def _when(t: datetime | None) -> str:
    return "-" if t is None else t.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def print_json(value: Any) -> None:
    click.echo(json.dumps(_jsonable(value), ensure_ascii=False, indent=2))


def progress_bar() -> Progress:
    """A progress bar on stderr for long work; it disappears when done."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=err, transient=True)


@contextmanager
def lazy_progress(description: str):
    """A progress callback (done, total) whose bar appears only if it is called: most opens build nothing."""
    bar: Progress | None = None
    task = None

    def report(done: int, total: int) -> None:
        nonlocal bar, task
        if bar is None:
            bar = progress_bar()
            bar.start()
            task = bar.add_task(description, total=total)
        bar.update(task, completed=done, total=total)

    try:
        yield report
    finally:
        if bar is not None:
            bar.stop()


def facts_table(facts: list[Fact], title: str, retention: dict[int, float] | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("id", justify="right", style="cyan")
    table.add_column("fact", overflow="fold", min_width=30)  # the text first: the numbers wrap their headers
    table.add_column("status")
    if retention is not None:
        table.add_column("retention", justify="right")
    table.add_column("importance", justify="right")
    table.add_column("recalls", justify="right")
    table.add_column("added")
    for f in facts:
        status = f.status + (" (pinned)" if f.pinned else "")
        if f.follows is not None:  # told as a newer version of that memory (both kept)
            status += f" (newer than {f.follows})"
        cells = [str(f.id), Text(f.text), status]
        if retention is not None:
            cells.append(f"{retention[f.id]:.2f}")
        cells += [f"{f.importance:.2f}", str(f.recall_count), _when(f.created_at)[:10]]  # the day: room for the text
        table.add_row(*cells)
    return table


def hits_table(hits: list[Hit], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for name, justify in (("id", "right"), ("fact", "left"), ("said", "left"), ("found by", "left"),
                          ("similarity", "right"), ("retention", "right"), ("score", "right")):
        table.add_column(name, justify=justify)
    for h in hits:
        table.add_row(str(h.fact.id), Text(h.fact.text), _when(h.fact.created_at), found_by(h.found_by),
                      f"{h.similarity:.3f}", f"{h.retention:.2f}", f"{h.score:.3f}")
    return table


def found_by(signals) -> str:
    """Which searches found a memory: its words (lexical), its meaning (dense), being said right after one
    they found (context)."""
    names = {"lexical": "words", "dense": "meaning", "context": "context"}
    return " + ".join(names.get(s, s) for s in signals) if signals else "—"


# -- fact commands --------------------------------------------------------------------------------
@cli.command()
@click.argument("text")
@click.option("--importance", type=click.FloatRange(0, 1), default=None,
              help="0 fades fast, 1 lasts longest (default: estimated from the text).")
@click.option("--pin", is_flag=True, help="Never let this fact fade.")
@click.option("--raw", is_flag=True, help="Store TEXT as given: no update check, no cutting into facts (fast).")
@click.option("--json", "as_json", is_flag=True, help="Print what was stored and replaced as JSON.")
@pass_app
def add(app: App, text: str, importance: float | None, pin: bool, raw: bool, as_json: bool) -> None:
    """Remember a fact (TEXT, or - to read it from standard input), as the chat does: a fact already known is
    reinforced, and one that updates an older memory retires it (restorable). Its importance is estimated
    from the text unless given.

    \b
    Examples:
      memchat add "My sister Ana lives in Lisbon."
      memchat add "My sister Ana moved to Porto."       # replaces the Lisbon memory
      memchat add --importance 0.9 --pin "I am allergic to peanuts."
      echo "My dog is called Rex." | memchat add --raw -
    """
    said = read_text_argument(text)
    if not said.strip():
        raise click.UsageError('nothing to remember: TEXT is empty or only whitespace; give the fact, e.g. '
                               'memchat add "My sister Ana lives in Lisbon."')
    if raw:
        stored, replaced = [app.store.add(said, user=app.user, importance=importance, now=app.now)], []
    else:
        from assistant.assistant import Assistant  # torch and the models: only for the update check

        _one_reply_at_a_time()
        stored, replaced = Assistant.load(app.store, user=app.user).remember(said, now=app.now, importance=importance)
    if pin:
        stored = [app.store.pin(f.id, now=app.now) for f in stored]
    if as_json:
        print_json({"stored": stored, "replaced": replaced})
        return
    for fact in stored:
        if fact.reinforced:
            out.print(f"Already known as fact [cyan]{fact.id}[/]: reinforced (stability {fact.stability:.1f} days).")
        else:
            out.print(f"Remembered fact [cyan]{fact.id}[/] (importance {fact.importance:.2f}): {esc(fact.text)}")
    for fact in replaced:
        out.print(f"Replaced fact [cyan]{fact.id}[/]: {esc(fact.text)} (undo: memchat restore {fact.id})")


@cli.command()
@click.argument("what", nargs=-1)
@click.option("--match", "query", default=None, help="Forget every fact this text names (the same as TEXT).")
@click.option("--hard", is_flag=True, help="Erase for good, from every file of the store (not restorable).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def forget(app: App, what: tuple[str, ...], query: str | None, hard: bool, yes: bool) -> None:
    """Forget facts by id (ID...), or every fact a text names (TEXT, by meaning; shown first, then asked).

    Soft forgetting hides a fact from search; `memchat restore ID` brings it back. --hard erases it.

    \b
    Examples:
      memchat forget "my car"
      memchat forget my old phone number --yes
      memchat forget 12 13
      memchat forget --hard 12
    """
    ids: tuple[int, ...] = ()
    if what and all(w.isdigit() for w in what):
        ids = tuple(int(w) for w in what)
    elif what:
        if query:
            raise click.UsageError("give the text to forget once: as TEXT or as --match TEXT, not both")
        query = " ".join(what)
    if ids and query:
        raise click.UsageError("give fact ids or a text to forget (--match TEXT), not both")
    if bool(ids) == bool(query):
        raise click.UsageError("say what to forget: fact ids (memchat forget 12 13) or a text (memchat forget \"my car\"); "
                               "`memchat facts` lists ids")
    store = app.store
    targets = [store.get(i) for i in ids] if ids else [h.fact for h in store.matching(query, user=app.user)]
    if not targets:
        out.print(f"No fact matches {esc(repr(query))}; nothing forgotten. Find it with `memchat search TEXT` "
                  "and forget it by id (`memchat forget ID`).")
        return
    if not yes and (query or hard):
        out.print(facts_table(targets, "About to " + ("erase" if hard else "forget")))
        if not sys.stdin.isatty():
            raise click.UsageError("confirmation needed and no terminal to ask on: rerun with --yes")
        click.confirm("Go ahead?", abort=True)
    reason = "matched a forget request" if query else "asked by the user"
    done = store.forget_many([f.id for f in targets], hard=hard, now=app.now, reason=reason)
    verb = "Erased" if hard else "Forgot"
    out.print(f"{verb} {len(done)} fact(s): " + ", ".join(str(f.id) for f in done)
              + ("" if hard else ". Undo with `memchat restore ID`."))


@cli.command()
@click.argument("fact_id", type=FactId())
@pass_app
def restore(app: App, fact_id: int) -> None:
    """Bring back a dormant or forgotten fact.

    \b
    Example:
      memchat restore 12
    """
    fact = app.store.restore(fact_id, now=app.now)
    out.print(f"Restored fact [cyan]{fact.id}[/]: {esc(fact.text)}")


@cli.command()
@click.argument("fact_id", type=FactId())
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print the edited fact as JSON.")
@pass_app
def edit(app: App, fact_id: int, text: str, as_json: bool) -> None:
    """Change a fact's text (TEXT, or - to read it from standard input); the old text stays in its history.

    \b
    Examples:
      memchat edit 12 "Shopping list: milk, eggs."
      memchat history 12
    """
    before = app.store.get(fact_id)
    fact = app.store.update(fact_id, read_text_argument(text), now=app.now)
    if as_json:
        print_json(fact)
    elif fact.text == before.text:
        out.print(f"Fact [cyan]{fact.id}[/] already says: {esc(fact.text)}")
    else:
        out.print(f"Edited fact [cyan]{fact.id}[/].\n  was: {esc(before.text)}\n  now: {esc(fact.text)}")


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Include dormant and forgotten facts.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_app
def facts(app: App, show_all: bool, as_json: bool) -> None:
    """List what memchat remembers about the user.

    \b
    Examples:
      memchat facts
      memchat --user ana facts --all --json
    """
    store = app.store
    items = store.facts(app.user, include_dormant=show_all, now=app.at)  # faded by then: dormant, as decay says
    retention = {f.id: store.retention(f, app.at) for f in items}
    if as_json:
        print_json([{**_jsonable(f), "retention": retention[f.id]} for f in items])
        return
    if not items:
        out.print(f"No facts for user {esc(repr(app.user))} yet. Add one: memchat add \"My sister Ana lives in Lisbon.\"")
        return
    out.print(facts_table(items, f"{len(items)} fact(s) of {esc(app.user)}", retention))


@cli.command()
@click.argument("query")
@click.option("-k", "k", type=click.IntRange(1), default=5, show_default=True, help="How many facts to return.")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "lexical"]), default=None,
              help="hybrid: words and meaning fused (the default); dense: meaning only; lexical: words only.")
@click.option("--since", "since_text", default=None, metavar="TIME",
              help="Only facts said at or after TIME (ISO-8601, or an offset from now like -7d).")
@click.option("--until", "until_text", default=None, metavar="TIME", help="Only facts said at or before TIME.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_app
def search(app: App, query: str, k: int, mode: str | None, since_text: str | None, until_text: str | None,
           as_json: bool) -> None:
    """Find the facts that match QUERY by its words and by its meaning, ranked by relevance and retention.

    Each hit says what found it: its words (the lexical index), its meaning (the embedding), or both.

    \b
    Examples:
      memchat search "where does my sister live?"
      memchat search -k 10 --json pets
      memchat search --mode lexical "B42"
      memchat search --since -7d "what did I say about the dentist"
    """
    reference = app.now or datetime.now(timezone.utc)
    try:
        since, until = parse_now(since_text, reference), parse_now(until_text, reference)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--since/--until")
    hits = app.store.search(query, k=k, user=app.user, now=app.now, mode=mode, since=since, until=until)
    if as_json:
        print_json(hits)
    elif not hits:
        out.print("No facts to search yet.")
    else:
        out.print(hits_table(hits, f"Best {len(hits)} for {esc(repr(query))}"))


@cli.command()
@click.option("--dry-run", is_flag=True, help="Show what would fade or be purged; change nothing.")
@click.option("--apply", "apply_now", is_flag=True, help="Write it to the store without asking.")
@click.option("--all-users", is_flag=True, help="Every user's facts, not only --user's.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_app
def decay(app: App, dry_run: bool, apply_now: bool, all_users: bool, as_json: bool) -> None:
    """Write forgetting to the store: faded facts become dormant, long-dormant ones are purged (erased).

    Faded facts are already out of `facts` and search (a question can still bring one back); this writes
    it and starts the 30 days after which a dormant fact is erased. Without --apply it shows what it would
    do and asks.

    \b
    Examples:
      memchat --now +180d decay --dry-run
      memchat decay                  # shows, then asks
      memchat decay --apply
    """
    if dry_run and apply_now:
        raise click.UsageError("--dry-run and --apply contradict each other: give one")
    user = None if all_users else app.user
    report = app.store.decay(now=app.now, dry_run=True, user=user)
    if not dry_run and (report.dormant or report.purged):
        if not apply_now and not as_json:
            show_decay(report, user)
            if not sys.stdin.isatty():
                raise click.UsageError("nothing written: rerun with --apply to write it (or --dry-run to only look)")
            click.confirm("Write this to the store?", abort=True)
        report = app.store.decay(now=app.now, user=user)
    if as_json:
        print_json(report)
    else:
        show_decay(report, user)


def show_decay(report, user: str | None) -> None:
    """A decay report: counts that add up, then the faded and the purged facts."""
    verb = ("would go", "would be") if report.dry_run else ("went", "were")
    whose = "every user's" if user is None else f"{esc(user)}'s"
    rest = report.checked - len(report.dormant) - len(report.purged)
    out.print(f"Checked {report.checked} of {whose} fact(s) at {_when(report.now)}: {len(report.dormant)} {verb[0]} "
              f"dormant, {len(report.purged)} {verb[1]} purged, {rest} unchanged.")
    if report.dormant:
        faded = [dataclasses.replace(f, status="dormant") for f, _ in report.dormant]
        out.print(facts_table(faded, "Faded", {f.id: r for f, r in report.dormant}))
    if report.purged:
        out.print(facts_table(report.purged, "Purged"))


@cli.command()
@click.argument("fact_id", type=FactId())
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_app
def explain(app: App, fact_id: int, as_json: bool) -> None:
    """Why a fact is where it is: retention, stability, forecast and history.

    \b
    Example:
      memchat explain 12
    """
    ex = app.store.explain(fact_id, now=app.at)
    if as_json:
        print_json(ex)
        return
    f = ex.fact
    out.print(f"[cyan]{f.id}[/] {esc(f.text)}")
    out.print(f"status {ex.status}{' (pinned)' if f.pinned else ''}, retention {ex.retention:.2f} at {_when(ex.now)}, "
              f"stability {f.stability:.1f} days, importance {f.importance:.2f}, recalled {f.recall_count} time(s)")
    if f.hold_until is not None:
        out.print(f"a dated event: kept at least until {_when(f.hold_until)}")
    if f.status == "active":
        if ex.fades_at is None:
            out.print("never fades (pinned, or not before the year 9000)")
        elif ex.fades_at <= ex.now:
            out.print(f"faded below {app.store.config.decay.dormant_below:.2f} around {_when(ex.fades_at)}: dormant, out "
                      "of `facts` and search; a question that cues it brings it back; `memchat decay --apply` writes it")
        else:
            out.print(f"fades (goes dormant) around {_when(ex.fades_at)}")
    else:
        out.print(f"purged around {_when(ex.purge_at)} unless restored")
    forecast = Table(title="Forecast without recall", title_justify="left")
    forecast.add_column("in", justify="right")
    forecast.add_column("retention", justify="right")
    for days, r in ex.forecast:
        forecast.add_row(f"{days:g} days", f"{r:.2f}")
    out.print(forecast)
    out.print(events_table(ex.events, "History"))


def events_table(events, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for name in ("event", "fact", "when", "kind", "retention", "reason"):
        table.add_column(name)
    for e in events:
        reason = e.reason if e.replaced_text is None else f"{e.reason}; was: {e.replaced_text}"
        table.add_row(str(e.id), "-" if e.fact_id is None else str(e.fact_id), _when(e.at), e.kind,
                      "-" if e.retention is None else f"{e.retention:.2f}", Text(reason))
    return table


@cli.command()
@click.argument("fact_id", type=FactId(), required=False)
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True, help="Show the last N events.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_app
def history(app: App, fact_id: int | None, limit: int, as_json: bool) -> None:
    """The event log (add, edit, recall, decay, forget, restore, ...), of one fact or of the user.

    \b
    Examples:
      memchat history
      memchat history 12
    """
    events = app.store.history(fact_id, user=None if fact_id is not None else app.user, limit=limit)
    if fact_id is not None and not events:
        raise FactNotFound(fact_id)  # an erased fact still has its history
    if as_json:
        print_json(events)
    else:
        out.print(events_table(events, f"History of fact {fact_id}" if fact_id else f"History of {esc(app.user)}"))


@cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def export_cmd(app: App, file: Path) -> None:
    """Write every fact of every user, with its memory state, as JSON lines.

    \b
    Example:
      memchat export memories.jsonl
    """
    n = app.store.export_jsonl(file)
    out.print(f"Exported {n} fact(s) to {esc(file)}")


@cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def import_cmd(app: App, file: Path) -> None:
    """Read facts from a JSON-lines export (checked whole first; a bad line imports nothing).

    \b
    Example:
      memchat import memories.jsonl
    """
    with progress_bar() as bar:
        task = bar.add_task("Embedding facts", total=None)
        report = app.store.import_jsonl(file, now=app.now, progress=lambda done, total: bar.update(task, completed=done, total=total))
    out.print(f"Imported {report.imported} fact(s); skipped {report.skipped} already known.")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_app
def stats(app: App, as_json: bool) -> None:
    """Sizes of the store: facts per user and status, index kinds, bytes on disk.

    \b
    Example:
      memchat stats
    """
    s = app.store.stats()
    if as_json:
        print_json(s)
        return
    out.print(f"store {esc(s.path)}: embedder {s.embedder} ({s.dim}d), schema {s.schema_version}, {s.events} events, "
              f"database {s.db_bytes / 1e6:.1f} MB, indexes {s.index_bytes / 1e6:.1f} MB")
    table = Table(title_justify="left")
    for name in ("user", "active", "dormant", "forgotten", "index"):
        table.add_column(name, justify="left" if name in ("user", "index") else "right")
    for u in s.users:
        table.add_row(Text(u.user), str(u.active), str(u.dormant), str(u.forgotten), u.index_kind)
    out.print(table)


@cli.command()
@pass_app
def reindex(app: App) -> None:
    """Rebuild every index from SQLite (the source of truth).

    \b
    Example:
      memchat reindex
    """
    with progress_bar() as bar:
        task = bar.add_task("Indexing facts", total=None)
        s = app.store.reindex(progress=lambda done, total: bar.update(task, completed=done, total=total))
    out.print(f"Rebuilt indexes for {len(s.users)} user(s), {sum(u.active for u in s.users)} active fact(s).")


# -- evaluation -----------------------------------------------------------------------------------
def parse_tasks(text: str) -> tuple[int, ...]:
    """'1-20', '1,2,5' or '1-3,7' -> task numbers."""
    tasks: list[int] = []
    try:
        for part in text.split(","):
            low, _, high = part.strip().partition("-")
            tasks += list(range(int(low), int(high or low) + 1))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a task list like 1-20, 1,2,5 or 1-3,7", param_hint="--tasks")
    if not tasks:
        raise click.BadParameter("no tasks given", param_hint="--tasks")
    return tuple(dict.fromkeys(tasks))


def data_option(name: str):
    """--data DIR, defaulting to ../shared/data/NAME beside the checkout when it exists."""
    def resolve(ctx, param, value):
        if value is not None:
            return value
        found = default_data_dir(name)
        if found is None:
            raise click.BadParameter(
                f"no data folder given and ../shared/data/{name} does not exist beside this checkout; "
                f"pass --data DIR (the folder holding the {name} files)", param_hint="--data")
        return found
    return click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=None, callback=resolve,
                        help=f"Data folder (default: ../shared/data/{name} beside the checkout).")


@contextmanager
def stage_progress():
    """A progress callback (description, completed, total) drawing one bar per description."""
    with progress_bar() as bar:
        tasks: dict[str, Any] = {}

        def report(description: str, completed: int, total: int) -> None:
            if description not in tasks:
                tasks[description] = bar.add_task(description, total=total)
            bar.update(tasks[description], completed=completed, total=total)

        yield report


@cli.group("eval")
def eval_group() -> None:
    """Train and evaluate memchat's models on published benchmarks; results go to results/.

    \b
    Example:
      memchat eval babi --size 1k --joint --runs 5
    """


@eval_group.command("babi")
@click.option("--size", type=click.Choice(["1k", "10k"]), default="1k", show_default=True, help="Training questions per task.")
@click.option("--tasks", "tasks_text", default="1-20", show_default=True, help="Tasks, e.g. 1-20 or 1,2,5.")
@click.option("--joint/--per-task", default=True, show_default=True, help="One model for all tasks, or one per task.")
@click.option("--runs", type=click.IntRange(1), default=10, show_default=True, help="Runs from different seeds; the best on validation is reported.")
@click.option("--seed", type=int, default=0, show_default=True, help="Run i trains from seed + i.")
@data_option("babi_qa")
@click.option("--results", "results_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path(__file__).resolve().parent / "results", help="Where the JSON and Markdown go.")
def eval_babi(size: str, tasks_text: str, joint: bool, runs: int, seed: int, data: Path, results_dir: Path) -> None:
    """Train the Memory-Network reader on bAbI QA and compare with the paper (End-To-End Memory Networks).

    \b
    Examples:
      memchat eval babi --size 1k --joint --runs 5
      memchat eval babi --size 10k --tasks 1-3 --runs 1 --data ~/babi_qa
    """
    from lab.babi_eval import BabiEvalConfig, run_babi_eval, write_babi_results  # torch: only when asked

    config = BabiEvalConfig.for_size(size, tasks=parse_tasks(tasks_text), joint=joint, runs=runs, seed=seed)
    with stage_progress() as report:
        result = run_babi_eval(config, data, progress=report)
    paths = write_babi_results(result, results_dir)
    out.print(Markdown(result.to_markdown()))
    out.print("Written: " + ", ".join(esc(p) for p in paths))


@eval_group.command("dialog-babi")
@click.option("--task", "tasks_text", default="1", show_default=True, help="Tasks 1-6, e.g. 1, 1-5 or 1,3.")
@click.option("--oov/--no-oov", default=True, show_default=True, help="Also score the out-of-vocabulary test set (tasks 1-5).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of initialisation and batch order.")
@click.option("--epochs", type=click.IntRange(1), default=None, help="Most training epochs (default: the task's recipe).")
@click.option("--checkpoints", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to save each task's best model in (dialog-babi-tN.pt).")
@data_option("dialog_babi")
@click.option("--results", "results_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path(__file__).resolve().parent / "results", help="Where dialog-babi.json and .md go.")
def eval_dialog_babi(tasks_text: str, oov: bool, seed: int, epochs: int | None, checkpoints: Path | None,
                     data: Path, results_dir: Path) -> None:
    """Train the LSTM generator on dialog bAbI and compare with MemNN, Mem2Seq and GLMP.

    Each task trains its own model (on trn, the best dev epoch kept) and is scored by exact match of
    the generated replies on tst and tst-OOV; the figures are merged into results/dialog-babi.json.

    \b
    Examples:
      memchat eval dialog-babi --task 1
      memchat eval dialog-babi --task 1-6 --seed 0
      memchat eval dialog-babi --task 5 --no-oov --epochs 5 --data ~/dialog_babi
    """
    from lab.dialog_babi_eval import DialogEvalConfig, results_markdown, run_dialog_task
    from lab.training import init_distributed, shutdown_distributed

    tasks = parse_tasks(tasks_text)
    if any(t not in range(1, 7) for t in tasks):
        raise click.BadParameter(f"dialog bAbI tasks are 1-6, got {tasks_text!r}", param_hint="--task")
    rank, _ = init_distributed()  # under torchrun: one data-parallel process each; rank 0 tests, prints, writes
    try:
        for task in tasks:
            config = DialogEvalConfig.for_task(task, oov=oov, seed=seed)
            if epochs is not None:
                config = dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=epochs))
            checkpoint = None
            if checkpoints is not None:
                checkpoints.mkdir(parents=True, exist_ok=True)
                checkpoint = checkpoints / f"dialog-babi-t{task}.pt"
            if rank != 0:
                run_dialog_task(config, data, checkpoint=checkpoint)
                continue
            with stage_progress() as report:
                result = run_dialog_task(config, data, progress=report, checkpoint=checkpoint)
            write_dialog_results(results_dir, config, result)
            figures = ", ".join(f"{k} {v:.1f}%" for k, v in result.per_response.items())
            out.print(f"task {task}: per-response {figures} ({result.seconds / 60:.1f} min)")
    finally:
        shutdown_distributed()
    if rank == 0:
        out.print(Markdown(results_markdown(json.loads((results_dir / "dialog-babi.json").read_text()))))
        out.print(f"Written: {esc(results_dir / 'dialog-babi.json')}, {esc(results_dir / 'dialog-babi.md')}")


def write_dialog_results(results_dir: Path, config, result) -> None:
    """Merge one task's figures into results/dialog-babi.json and .md (locked: tasks may run side by side)."""
    from lab.dialog_babi_eval import merge_results, results_markdown

    results_dir.mkdir(parents=True, exist_ok=True)
    json_path = results_dir / "dialog-babi.json"
    with open(results_dir / ".dialog-babi.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        previous = json.loads(json_path.read_text()) if json_path.exists() else {}
        merged = merge_results(previous, config, result, machine_description())
        json_path.write_text(json.dumps(merged, indent=2) + "\n")
        (results_dir / "dialog-babi.md").write_text(results_markdown(merged))


def machine_description() -> str:
    import platform

    import torch

    return f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}"


@eval_group.command("convai2")
@data_option("persona_chat")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Chat model to probe (default: the shipped assistant/models/default.pt).")
@click.option("--dialogues", type=click.IntRange(1), default=None, help="Only the first N dialogues (default: all 1,000).")
@click.option("--results", "results_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path(__file__).resolve().parent / "results", help="Where convai2.json and convai2.md go.")
def eval_convai2(data: Path, model_path: Path | None, dialogues: int | None, results_dir: Path) -> None:
    """Probe the chat model on ConvAI2's validation file: perplexity, F1 and hits@1 of 20.

    Out of domain: memchat never trains on Persona-Chat. The persona is given as stored facts, the
    dialogue as recent turns, and the figures are set beside the leaderboard's baselines.

    \b
    Examples:
      memchat eval convai2
      memchat eval convai2 --dialogues 100 --model my-model.pt --results /tmp/probe
    """
    from assistant.assistant import DEFAULT_MODEL, load_generator
    from lab.convai2 import data_file, read_dialogues
    from lab.convai2_eval import probe_markdown, run_probe

    path = model_path or DEFAULT_MODEL
    model, vocab = load_generator(path)
    source = data_file(data)
    chosen = read_dialogues(source)[:dialogues]
    with stage_progress() as report:
        result = run_probe(model, vocab, chosen, progress=report)
    command = "memchat eval convai2" + (f" --dialogues {dialogues}" if dialogues else "") + (
        f" --model {model_path}" if model_path else "")
    payload = {"model": path.name, "file": source.name, "command": command, "machine": machine_description(),
               **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in dataclasses.asdict(result).items()}}
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "convai2.json").write_text(json.dumps(payload, indent=2) + "\n")
    (results_dir / "convai2.md").write_text(probe_markdown(payload))
    out.print(Markdown(probe_markdown(payload)))
    out.print(f"Written: {esc(results_dir / 'convai2.json')}, {esc(results_dir / 'convai2.md')}")


def chat_eval_options(stem: str, dialogues: str):
    """The options of the chat model's evaluations on real conversation: --data (the shared data folder),
    --model, --dialogues (`dialogues`: what N counts) and --results (where STEM.json and STEM.md go)."""
    def decorate(command):
        for option in reversed((
            data_option(""),
            click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                         help="Chat model to score (default: the shipped assistant/models/default.pt)."),
            click.option("--dialogues", type=click.IntRange(1), default=None, help=f"Only the first N {dialogues}."),
            click.option("--results", "results_dir", type=click.Path(file_okay=False, path_type=Path),
                         default=Path(__file__).resolve().parent / "results", help=f"Where {stem}.json and {stem}.md go."),
        )):
            command = option(command)
        return command
    return decorate


def _chat_model(model_path: Path | None):
    """(path, model, vocabulary) of the chat model to score (the shipped one by default), on one thread."""
    from assistant.assistant import DEFAULT_MODEL, load_generator

    _one_reply_at_a_time()
    path = model_path or DEFAULT_MODEL
    return (path, *load_generator(path))


def _chat_eval_command(name: str, dialogues: int | None, model_path: Path | None) -> str:
    return f"memchat eval {name}" + (f" --dialogues {dialogues}" if dialogues else "") + (
        f" --model {model_path}" if model_path else "")


@eval_group.command("dailydialog")
@chat_eval_options("dailydialog", "test dialogues (default: all 1,000)")
def eval_dailydialog(data: Path, model_path: Path | None, dialogues: int | None, results_dir: Path) -> None:
    """Score the chat model on DailyDialog's test dialogues: perplexity, F1 and distinct-1/2.

    Every reply of a test dialogue, its last turns as the context (older ones carried), no memories;
    the figures are set beside published baselines on the same split.

    \b
    Examples:
      memchat eval dailydialog
      memchat eval dailydialog --dialogues 100 --model my-model.pt --results /tmp/dd
    """
    from lab.chat_eval import dailydialog_examples, dailydialog_markdown, score_replies, scores_json

    path, model, vocab = _chat_model(model_path)
    window = 6
    examples = dailydialog_examples(data, window, dialogues)
    with stage_progress() as report:
        scores = score_replies(model, vocab, examples, progress=report, description="DailyDialog test batches")
    payload = {"model": path.name, "command": _chat_eval_command("dailydialog", dialogues, model_path),
               "machine": machine_description(), "window": window,
               "dialogues": dialogues or len({e.dialog for e in examples}), "scores": scores_json(scores)}
    _write_results(results_dir, "dailydialog", payload, dailydialog_markdown(payload))


@eval_group.command("msc")
@chat_eval_options("msc", "test dialogues of each session (default: all 501)")
def eval_msc(data: Path, model_path: Path | None, dialogues: int | None, results_dir: Path) -> None:
    """Score the chat model on MSC sessions 2-3 test, with the earlier sessions' memories and without.

    With memory, the replying speaker's persona summary of the earlier sessions is given as stored
    memories; the F1 gap says what reading them adds.

    \b
    Examples:
      memchat eval msc
      memchat eval msc --dialogues 50 --model my-model.pt --results /tmp/msc
    """
    from lab.chat_data import msc
    from lab.chat_eval import msc_examples, msc_markdown, score_replies, scores_json

    path, model, vocab = _chat_model(model_path)
    window = 6
    scores = {}
    with stage_progress() as report:
        for memories in (True, False):
            examples = msc_examples(data, window, memories, dialogues)
            scores[memories] = score_replies(model, vocab, examples, progress=report,
                                             description=f"MSC test batches, {'with' if memories else 'without'} memory")
    payload = {"model": path.name, "command": _chat_eval_command("msc", dialogues, model_path),
               "machine": machine_description(), "window": window,
               "dialogues": sum(len(msc(data, session, "test")[:dialogues]) for session in (2, 3)),
               "with_memory": scores_json(scores[True]),
               "without_memory": scores_json(scores[False])}
    _write_results(results_dir, "msc", payload, msc_markdown(payload))


SMALL_TALK = Path(__file__).resolve().parent / "lab" / "small_talk"


@eval_group.command("small-talk")
@click.option("--turns", "turns_path", type=click.Path(dir_okay=False, path_type=Path), default=SMALL_TALK / "turns.txt",
              show_default="lab/small_talk/turns.txt", help="The small-talk turns to play.")
@click.option("--judged", "judged_path", type=click.Path(dir_okay=False, path_type=Path),
              default=SMALL_TALK / "judged.tsv", show_default="lab/small_talk/judged.tsv",
              help="Verdicts written by hand (turn, reply, sensible|not, note; tab-separated).")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Chat model to play (default: the shipped assistant/models/default.pt).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path(__file__).resolve().parent / "results" / "small-talk",
              show_default="results/small-talk", help="Writes OUT.json and OUT.md.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts: every turn, reply and verdict.")
def eval_small_talk(turns_path: Path, judged_path: Path, model_path: Path | None, out_path: Path, as_json: bool) -> None:
    """Play hand-written small talk through the assistant; report the share judged sensible by hand.

    The user's memories are stored first, then each block of turns is a chat session, as `memchat chat`
    plays it. Nothing scores the replies automatically: add a verdict per reply to the judgement file
    (a reply that changed since it was judged counts as not judged).

    \b
    Examples:
      memchat eval small-talk
      memchat eval small-talk --model my-model.pt --out /tmp/small-talk --json
    """
    import tempfile

    from assistant.assistant import DEFAULT_MODEL, Assistant
    from lab.small_talk_eval import judged, play, read_judgements, read_turns, small_talk_markdown, summary

    _one_reply_at_a_time()
    path = model_path or DEFAULT_MODEL
    turns, verdicts = read_turns(turns_path), read_judgements(judged_path)
    with tempfile.TemporaryDirectory() as folder, stage_progress() as report:
        store = MemoryStore.open(Path(folder) / "store")
        try:
            played = play(turns, lambda s: Assistant.load(s, user="small-talk", checkpoint=path), store,
                          datetime(2026, 1, 1, 9, tzinfo=timezone.utc), progress=report)
        finally:
            store.close()
    played = judged(played, verdicts)
    command = "memchat eval small-talk" + (f" --model {model_path}" if model_path else "")
    payload = {"model": path.name, "command": command, "summary": summary(played),
               "turns": [dataclasses.asdict(p) for p in played]}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.with_name(out_path.name + ".json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    out_path.with_name(out_path.name + ".md").write_text(small_talk_markdown(payload))
    if as_json:
        print_json(payload)
        return
    table = Table(title=f"Small talk, {path.name}", title_justify="left")
    for name in ("turn", "reply", "taken for", "verdict"):
        table.add_column(name)
    for p in played:
        table.add_row(esc(p.turn), esc(p.reply), p.intent, p.verdict or "—")
    out.print(table)
    s = payload["summary"]
    share = "none judged yet" if s["sensible_share"] is None else f"{s['sensible_share']} % sensible of {s['judged']} judged"
    out.print(f"{s['turns']} turns, {share}; written to {esc(out_path)}.json and .md")


def _write_results(results_dir: Path, stem: str, payload: dict, markdown: str) -> None:
    """results/STEM.json and STEM.md, and the markdown shown."""
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / f"{stem}.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    (results_dir / f"{stem}.md").write_text(markdown)
    out.print(Markdown(markdown))
    out.print(f"Written: {esc(results_dir / f'{stem}.json')}, {esc(results_dir / f'{stem}.md')}")


# -- training -------------------------------------------------------------------------------------
SHIPPED_MODEL = Path(__file__).resolve().parent / "assistant" / "models" / "default.pt"


def _one_reply_at_a_time() -> None:
    """One torch thread for replying turn by turn: one reply is too small a job to split across threads
    (`memchat eval recall` on this 2-core machine: p50 20 ms and 72 s on one thread, 45 ms and 221 s on
    two); `bench/bench_assistant.py` measures the same."""
    import torch

    torch.set_num_threads(1)


@eval_group.command("recall")
@click.option("--conversations", type=click.IntRange(1), default=200, show_default=True, help="Held-out conversations played.")
@click.option("--seed", type=int, default=0, show_default=True, help="Which held-out conversations.")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Chat model to evaluate (default: the shipped assistant/models/default.pt).")
@click.option("--dev", is_flag=True,
              help="Play train-split conversations in the phrasings the answer finder was not fitted on "
                   "(to tune without the held-out split); written as recall-dev.json and recall-dev.md.")
@click.option("--results", "results_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path(__file__).resolve().parent / "results",
              help="Where recall.json and recall.md (recall-dev.* with --dev) go.")
def eval_recall(conversations: int, seed: int, model_path: Path | None, dev: bool, results_dir: Path) -> None:
    """Play held-out conversations through the assistant and score its memory (issue 5's targets).

    The conversations use phrasings and names never seen in training (with --dev: train-split names and
    values, and phrasings only the answer finder never saw); each runs as its own user on a
    fresh store with the real embedding model. Scored: facts recalled, forgotten facts never named,
    unknowns not answered with a stored entity, updates answered with the new fact; and reply latency.

    \b
    Examples:
      memchat eval recall
      memchat eval recall --conversations 50 --model my-model.pt
      memchat eval recall --dev
    """
    import tempfile

    from assistant.assistant import DEFAULT_MODEL, Assistant
    from lab.personal_data import conversations as held_out
    from lab.recall_eval import recall_markdown, run_recall_eval

    _one_reply_at_a_time()
    path = model_path or DEFAULT_MODEL
    played = held_out("train", conversations, seed=seed, phrasings="check") if dev else held_out(
        "eval", conversations, seed=seed)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with tempfile.TemporaryDirectory() as folder, stage_progress() as report:
        store = MemoryStore.open(Path(folder) / "store")
        try:
            first = Assistant.load(store, user="eval-0", checkpoint=path)
            result = run_recall_eval(played, first.for_user, start, progress=report)
        finally:
            store.close()
    command = f"memchat eval recall --conversations {conversations} --seed {seed}" + (
        f" --model {model_path}" if model_path else "") + (" --dev" if dev else "")
    results_dir.mkdir(parents=True, exist_ok=True)
    payload = result.to_json(command=command, model=str(path.name))
    title = "train-split conversations in phrasings the answer finder never saw (dev)" if dev else "held-out conversations"
    stem = "recall-dev" if dev else "recall"
    (results_dir / f"{stem}.json").write_text(json.dumps(payload, indent=2) + "\n")
    (results_dir / f"{stem}.md").write_text(recall_markdown(payload, title))
    out.print(Markdown(recall_markdown(payload, title)))
    out.print(f"Written: {esc(results_dir / f'{stem}.json')}, {esc(results_dir / f'{stem}.md')}")


@eval_group.command("locomo")
@data_option("locomo")
@click.option("--conversations", "names", default="", metavar="NAMES",
              help="Only these conversations, e.g. conv-26,conv-30 (default: every conv-*.json in --data).")
@click.option("--tune", is_flag=True,
              help="Instead: score a grid of fusion settings (hybrid R@5, R@10) on the tuning conversations.")
@click.option("--results", "results_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path(__file__).resolve().parent / "results", help="Where locomo.json and locomo.md go.")
def eval_locomo(data: Path, names: str, tune: bool, results_dir: Path) -> None:
    """Score search on LoCoMo: every turn of each conversation is a memory (with its session's date), every
    question one default search a day after the last session; R@5 and R@10 overall and per category, beside
    lexical-only (FTS5 bm25) and dense-only search and exact MiniLM cosine, and search p50.

    \b
    Examples:
      memchat eval locomo
      memchat eval locomo --conversations conv-41,conv-42,conv-43
      memchat eval locomo --tune
    """
    from lab.locomo_eval import TUNED_ON, LocomoConfig, default_grid, evaluate, report, tune as tune_fusion, write_results
    from memory_store import MiniLMEmbedder

    chosen = tuple(n.strip() for n in names.split(",") if n.strip())
    with stage_progress() as progress:
        if tune:
            rows = tune_fusion(data, MiniLMEmbedder(), chosen or TUNED_ON, default_grid(), progress)
        else:
            config = LocomoConfig(conversations=chosen)
            figures = report(evaluate(data, MiniLMEmbedder(), config, progress), config,
                             "memchat eval locomo" + (f" --conversations {names}" if chosen else ""))
    if tune:
        table = Table(title=f"Hybrid search on {', '.join(chosen or TUNED_ON)}", title_justify="left")
        for name in ("lexical weight", "match scale", "dense power", "context weight", "R@5", "R@10"):
            table.add_column(name, justify="right")
        for s, r5, r10 in sorted(rows, key=lambda r: (-r[1], -r[2])):
            table.add_row(f"{s.lexical_weight:g}", f"{s.match_scale:g}", f"{s.dense_power:g}", f"{s.context_weight:g}",
                          f"{r5:.1%}", f"{r10:.1%}")
        out.print(table)
        return
    js, md = write_results(figures, results_dir)
    out.print(Markdown(md.read_text()))
    out.print(f"Written: {esc(js)}, {esc(md)}")


CONVERSATIONS = Path(__file__).resolve().parent / "lab" / "conversations"


@eval_group.command("conversations")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=CONVERSATIONS,
              help="Folder of conversation files, *.txt (default: lab/conversations).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts: every figure and every failed line.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write OUT.json (figures and failures) and OUT.md (the table and the failures).")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Chat model to reply with (default: the shipped assistant/models/default.pt).")
@click.option("--reader", "reader_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Memory reader to answer with (default: the shipped assistant/models/reader.pt), e.g. one "
                   "`memchat train-reader --out` wrote.")
def eval_conversations(folder: Path, as_json: bool, out_path: Path | None, model_path: Path | None,
                       reader_path: Path | None) -> None:
    """Replay the hand-written conversations through the assistant and score every line (issue 13's targets).

    Each file (format: lab/conversations/FORMAT.md) runs on a fresh store with the real embedding model;
    `restart` lines load a new assistant over the same store. Scored: told answered, updated answered with
    the new value, never-told and after-forget leaks, forgets carried out, false retirements, missed
    updates, statements not stored, small talk stored.

    \b
    Examples:
      memchat eval conversations
      memchat eval conversations --out results/conversations
      memchat eval conversations --dir my-conversations --json
      memchat eval conversations --reader /tmp/reader-recency.pt
    """
    from assistant.assistant import DEFAULT_READER, Assistant
    from lab.conversation_eval import read_conversations, run_conversation_eval, scores_markdown

    conversations = read_conversations(folder)
    _one_reply_at_a_time()
    with stage_progress() as report:
        scores = run_conversation_eval(conversations, lambda store: Assistant.load(
            store, user="eval", checkpoint=model_path, reader=reader_path or DEFAULT_READER), progress=report)
    command = "memchat eval conversations" + (f" --dir {folder}" if folder != CONVERSATIONS else "") + (
        f" --model {model_path}" if model_path else "") + (f" --reader {reader_path}" if reader_path else "")
    payload = scores.to_json(command)
    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.with_name(out_path.name + ".json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        out_path.with_name(out_path.name + ".md").write_text(scores_markdown(scores, command))
    if as_json:
        print_json(payload)
        return
    lines = sum(scores.steps.values())
    table = Table(title=f"{scores.conversations} conversations, {lines} lines", title_justify="left")
    for name, justify in (("measure", "left"), ("memchat", "right"), ("target", "right"), ("met", "left")):
        table.add_column(name, justify=justify)
    for row in scores.rows():
        table.add_row(row.measure, row.value, row.target, "" if row.met is None else "yes" if row.met else "[red]no[/]")
    out.print(table)
    kept = f"; written to {esc(out_path)}.json and .md" if out_path else "; --out or --json lists them"
    out.print(f"{len(scores.failures)} lines failed" + (kept if scores.failures else "") + ".")


@cli.command("train")
@click.option("--out", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=SHIPPED_MODEL,
              show_default="assistant/models/default.pt", help="Where the model goes (the default is the one memchat ships).")
@click.option("--dialog-data", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="dialog bAbI folder to mix in (default: ../shared/data/dialog_babi beside the checkout, if any).")
@click.option("--epochs", type=click.IntRange(1), default=None, help="Most epochs (default: the recipe's).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the data, initialisation and batch order.")
@click.option("--conversations", type=click.IntRange(1), default=None,
              help="Personal-fact training conversations (default: the recipe's).")
@click.option("--resume", is_flag=True, help="Continue a stopped run from OUT.resume (written after every epoch).")
@click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Shared data folder with dailydialog/ and synthetic_persona_chat/ (default: ../shared/data "
                   "beside the checkout, if any; without it: memchat's own conversations only).")
@click.option("--init", "init_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Start from this chat model's weights (same size; its words keep their rows).")
@click.option("--threads", type=click.IntRange(1), default=None, help="torch threads (default: torch's).")
def train_cmd(model_path: Path, dialog_data: Path | None, epochs: int | None, seed: int, conversations: int | None,
              resume: bool, data: Path | None, init_path: Path | None, threads: int | None) -> None:
    """Train memchat's default chat model on real conversation, personal facts and small talk.

    DailyDialog train and Synthetic-Persona-Chat test (its personas as stored memories) from the shared
    data folder, memchat's own memory conversations and small talk. The epoch with the lowest loss on dev
    conversations (train split, another seed) and DailyDialog validation is saved with its recipe; the
    eval split stays unseen for `memchat eval recall`. The shipped model: see the README for its command
    and time (one process, one thread, started from the previous model with --init).

    \b
    Examples:
      memchat train --threads 1
      memchat train --epochs 3 --conversations 500 --out /tmp/chat.pt
      memchat train --resume
      torchrun --standalone --nproc_per_node 2 -m cli train
    """
    from lab.chat_training import ChatTrainConfig, train_chat_model
    from lab.training import init_distributed, shutdown_distributed

    config = ChatTrainConfig(seed=seed)
    if conversations is not None:
        config = dataclasses.replace(config, conversations=conversations)
    if epochs is not None:
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=epochs))
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    rank, _ = init_distributed()  # under torchrun: one data-parallel process each; rank 0 prints and writes
    dialog_data = (dialog_data or default_data_dir("dialog_babi")) if config.dialog_babi_share else None
    data = data or default_data_dir("")
    if data is None and rank == 0:
        err.print("note: no shared data folder (../shared/data or --data): no real conversation, training on "
                  "personal facts and small talk only")
    try:
        if rank != 0:
            train_chat_model(config, model_path, dialog_data, resume=resume, data_dir=data, init=init_path)
            return
        with stage_progress() as report:
            result = train_chat_model(config, model_path, dialog_data, progress=report, resume=resume, data_dir=data,
                                      init=init_path)
    finally:
        shutdown_distributed()
    _result_table(f"Chat model written to {esc(model_path)}", [
        ("dev loss (selects the epoch)", f"{result.dev_loss:.3f}"), ("dev per-response", f"{result.dev_accuracy:.1f}%"),
        ("epochs (best)", f"{result.epochs} ({result.best_epoch})"), ("training time", f"{result.seconds / 60:.1f} min"),
        ("parameters", f"{result.parameters:,}"), ("checkpoint", f"{result.checkpoint_bytes / 1e6:.1f} MB"),
        ("vocabulary", f"{result.vocabulary:,} words"), *((f"examples: {k}", f"{v:,}") for k, v in result.examples.items())])
    out.print(f"Reproduce: {esc(result.command)}")


@cli.command("train-updates")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              default=SHIPPED_MODEL.with_name("updates.pt"), show_default="assistant/models/updates.pt",
              help="Where the detector goes (the default is the one memchat ships).")
@click.option("--conversations", type=click.IntRange(1), default=None,
              help="Training conversations the statement pairs come from (default: the recipe's).")
@click.option("--written", type=click.IntRange(0), default=None,
              help="Times each statement of the hand-written training conversations (lab/training_conversations) "
                   "is paired with the lines told before it (default: the recipe's; 0: none).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the conversations, initialisation and batch order.")
def train_updates_cmd(out_path: Path, conversations: int | None, written: int | None, seed: int) -> None:
    """Train the update detector: does a new statement replace a remembered fact?

    A small classifier over the store's sentence embeddings ("I relocated to Cebu." replaces "Home for me
    is Gothenburg."), trained on memchat's own conversations (train split); with --written, also on the
    hand-written training conversations (a correction against the line it replaces). A few minutes on this
    CPU, most of it embedding the statements.

    \b
    Examples:
      memchat train-updates
      memchat train-updates --conversations 1000 --out /tmp/updates.pt
      memchat train-updates --written 3 --out /tmp/updates-written.pt
    """
    from lab.update_training import UpdateTrainConfig, train_update_detector

    config = UpdateTrainConfig(seed=seed)
    overrides = {"conversations": conversations, "written": written}
    config = dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})
    result = _train_on_embeddings(train_update_detector, config, out_path)
    _result_table(f"Update detector written to {esc(out_path)}", [
        ("dev precision / recall / F1", _prf_text(result.dev)),
        ("best epoch", str(result.best_epoch)), ("time", f"{result.seconds / 60:.1f} min"),
        *((f"pairs: {k}", f"{v:,}") for k, v in result.pairs.items())])
    _reproduce("memchat train-updates" + (f" --written {written}" if written is not None else ""), "conversations",
               conversations, seed)


@cli.command("train-answers")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              default=SHIPPED_MODEL.with_name("answers.pt"), show_default="assistant/models/answers.pt",
              help="Where the answer finder goes (the default is the one memchat ships).")
@click.option("--sentences", type=click.IntRange(1), default=None,
              help="Training questions and statements about the catalogue's relations (default: the recipe's).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sentences, initialisation and batch order.")
def train_answers_cmd(out_path: Path, sentences: int | None, seed: int) -> None:
    """Train the answer finder: does a remembered fact answer a question?

    A classifier over the store's sentence embeddings says which relation of memchat's catalogue (sister,
    home city, car, ...) a question or a fact is about; a fact answers a question about the same relation
    ("Remind me what my mother is called." and "Bakari, my mother, lives in Puebla."). Trained on
    sentences written from the catalogue (train split) and small talk, scored on held-out phrasings. A few
    minutes on this CPU, most of it embedding the sentences.

    \b
    Examples:
      memchat train-answers
      memchat train-answers --sentences 3000 --out /tmp/answers.pt
    """
    from lab.answer_training import AnswerTrainConfig, train_answer_finder

    config = AnswerTrainConfig(seed=seed)
    if sentences is not None:
        config = dataclasses.replace(config, sentences=sentences)
    result = _train_on_embeddings(train_answer_finder, config, out_path)
    _result_table(f"Answer finder written to {esc(out_path)}", [
        ("relation accuracy, unseen train phrasings", f"{result.dev_accuracy:.1f}%"),
        ("answers P / R / F1, unseen train phrasings", _prf_text(result.dev)),
        ("answers P / R / F1, eval phrasings (held out)", _prf_text(result.held_out)),
        ("best epoch", str(result.best_epoch)), ("time", f"{result.seconds / 60:.1f} min"),
        ("training sentences", f"{result.sentences:,}")])
    _reproduce("memchat train-answers", "sentences", sentences, seed)


@cli.command("train-importance")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where the model goes (default: the shipped memory_store/models/importance.npz).")
@click.option("--per-relation", type=click.IntRange(1), default=None,
              help="Catalogue sentences per relation and split (default: the recipe's).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sentences and initialisation.")
@data_option("")
def train_importance_cmd(out_path: Path | None, per_relation: int | None, seed: int, data: Path) -> None:
    """Train the importance model: how stable a new memory starts (names, health, addresses, dates to keep
    last; passing remarks fade).

    A softmax layer over the store's sentence embeddings, trained on the catalogue's relations, health and
    appointment templates, persona sentences (ordinary) and DailyDialog statements (passing), scored on
    held-out phrasings. A minute or two on this CPU.

    \b
    Examples:
      memchat train-importance
      memchat train-importance --per-relation 10 --out /tmp/importance.npz
    """
    from lab.importance_training import ImportanceTrainConfig, train_importance
    from memory_store.embedder import MiniLMEmbedder
    from memory_store.importance import SHIPPED

    config = ImportanceTrainConfig(seed=seed)
    if per_relation is not None:
        config = dataclasses.replace(config, per_relation=per_relation)
    command = "memchat train-importance" + (f" --per-relation {per_relation}" if per_relation else "") + (
        f" --seed {seed}" if seed else "")
    embedder = MiniLMEmbedder()
    with stage_progress() as report:
        result = train_importance(config, data, embedder.embed, embedder.name, out_path or SHIPPED, command,
                                  progress=report)
    _result_table(f"Importance model written to {esc(out_path or SHIPPED)}", [
        ("held-out macro accuracy (passing / ordinary / vital)", f"{result.eval_accuracy:.1f}%"),
        *((f"mean importance, held out: {k}", f"{v:.2f}") for k, v in result.mean_importance.items()),
        ("best epoch", str(result.best_epoch)), ("time", f"{result.seconds:.0f} s"),
        ("sentences", f"{result.sentences['train']:,} train, {result.sentences['eval']:,} held out")])
    out.print(f"Reproduce: {esc(command)}")


def word_model_options(file: str, what: str):
    """The options every recipe over MiniLM's word vectors takes: --out (default: the shipped FILE),
    --epochs, --seed and --data (the shared data folder)."""
    def decorate(command):
        for option in reversed((
            click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
                         default=SHIPPED_MODEL.with_name(file), show_default=f"assistant/models/{file}",
                         help=f"Where {what} goes (the default is the one memchat ships)."),
            click.option("--epochs", type=click.IntRange(1), default=None, help="Epochs (default: the recipe's)."),
            click.option("--seed", type=int, default=0, show_default=True,
                         help="Seed of the data, initialisation and batch order."),
            data_option(""),
        )):
            command = option(command)
        return command
    return decorate


@cli.command("train-turns")
@word_model_options("turns.pt", "the turn model")
@click.option("--examples", type=click.IntRange(1), default=None, help="Training turns drawn (default: the recipe's).")
@click.option("--members", type=click.IntRange(1), default=3, show_default=True,
              help="Models trained with seeds SEED, SEED+1, ... and averaged (an ensemble).")
@click.option("--written", type=click.IntRange(0), default=None,
              help="Times each line of the hand-written training conversations (lab/training_conversations) is "
                   "added (default: the recipe's; 0: none).")
def train_turns_cmd(out_path: Path, examples: int | None, epochs: int | None, members: int, written: int | None,
                    seed: int, data: Path) -> None:
    """Train the turn model: what kind of turn a line is, and which of its words are the facts it tells.

    Persona sentences, DailyDialog, SQuAD and DREAM questions and the catalogue's train split, composed
    with the ways people wrap what they say (filler, "remember that", forget and list requests), over
    MiniLM's word vectors. About half an hour on this CPU, most of it embedding.

    \b
    Examples:
      memchat train-turns
      memchat train-turns --examples 3000 --epochs 2 --out /tmp/turns.pt
      memchat train-turns --written 0 --out /tmp/turns-no-written.pt
    """
    from lab.turn_training import TurnTrainConfig, train_turn_ensemble

    train = functools.partial(train_turn_ensemble, members=members)
    metrics = _train_on_word_vectors(train, TurnTrainConfig(seed=seed), data, out_path, examples=examples,
                                     epochs=epochs, written=written)
    rows = [(f"member {i + 1}: kind of turn / facts cut exactly, development turns",
             f"{100 * m['dev']['kind_accuracy']:.1f}% / {100 * m['dev']['facts_exact']:.1f}%")
            for i, m in enumerate(metrics["member_metrics"])]
    _result_table(f"Turn model ({members} member(s)) written to {esc(out_path)}",
                  [*rows, ("time", f"{metrics['seconds'] / 60:.1f} min")])
    _reproduce("memchat train-turns" + (f" --members {members}" if members != 3 else "")
               + (f" --epochs {epochs}" if epochs else "") + (f" --written {written}" if written is not None else ""),
               "examples", examples, seed)


@cli.command("train-chatter")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              default=SHIPPED_MODEL.with_name("chatter.npz"), show_default="assistant/models/chatter.npz",
              help="Where the chatter bank goes (the default is the one memchat ships).")
@data_option("")
def train_chatter_cmd(out_path: Path, data: Path) -> None:
    """Build the chatter bank: what people replied, in DailyDialog's train split, to short lines.

    A small-talk turn ("thanks a lot", "how's it going?") is answered with the reply most of the
    replies to its nearest lines agree with; a turn no line is near is left to the generator. Lines
    about the assistant itself come from lab/chatter/about-me.tsv. A few minutes here, most of it
    embedding.

    \b
    Examples:
      memchat train-chatter
      memchat train-chatter --out /tmp/chatter.npz
    """
    from lab.chatter_bank import build_chatter

    started = time.time()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with stage_progress() as report:
        bank = build_chatter(data, out_path, progress=lambda done, total: report("embedding", done, total))
    _result_table(f"Chatter bank written to {esc(out_path)}",
                  [("lines", f"{len(bank.lines):,}"), ("distinct replies", f"{len(bank.replies):,}"),
                   ("size", f"{out_path.stat().st_size / 2**20:.1f} MB"),
                   ("time", f"{(time.time() - started) / 60:.1f} min")])
    out.print("Reproduce: memchat train-chatter")


@cli.command("train-reader")
@word_model_options("reader.pt", "the memory reader")
@click.option("--personal", type=click.IntRange(1), default=None,
              help="Catalogue examples beside SQuAD's (default: the recipe's).")
@click.option("--results", "results_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the SQuAD 2.0 figures to RESULTS.json and RESULTS.md (e.g. results/reader).")
@click.option("--written", type=click.IntRange(0), default=None,
              help="Times each question of the hand-written training conversations (lab/training_conversations) "
                   "is read, with other neighbours each time (default: the recipe's; 0: none).")
@click.option("--joint", "recipes", flag_value="joint", multiple=True,
              help="Train the joint reader instead (MiniLM's last two layers fine-tuned over question and memory "
                   "together; an experiment, see the README): about 80 min.")
@click.option("--dialogues", "recipes", flag_value="dialogues", multiple=True,
              help="Add DREAM's train dialogues (questions over the sentences people said) and corrections read "
                   "as news (an experiment, see the README): about 75 min.")
@click.option("--exact", "recipes", flag_value="exact", multiple=True,
              help="Train the exact-match reader (DrQA's exact-match feature, SQuAD questions also asked without "
                   "their answering sentence, casual questions; an experiment, see the README): about 40 min.")
@click.option("--recency", "recipes", flag_value="recency", multiple=True,
              help="Train the reader that reads when each memory was told (a sentence and its later correction: "
                   "the correction answers what it changed, the sentence the rest; see the README): about 40 min.")
@click.option("--members", type=click.IntRange(1), default=1, show_default=True,
              help="Readers trained alike one after another (other starting weights and batch orders, the same "
                   "data) and saved as one ensemble whose probabilities the chat averages.")
@click.option("--member", type=click.IntRange(0), default=0, show_default=True,
              help="The first member's number (its starting weights and batch order); train members apart, e.g. "
                   "on two machines, and join them with `memchat join-readers`.")
def train_reader_cmd(out_path: Path, personal: int | None, written: int | None, epochs: int | None, seed: int,
                     results_path: Path | None, data: Path, recipes: tuple[str, ...], members: int, member: int
                     ) -> None:
    """Train the memory reader: which remembered memory answers a question, which words are the answer, or none.

    Multi-hop attention over MiniLM's word vectors of the memories a search returns (End-to-End Memory
    Networks), trained on SQuAD 2.0 dev split by article (its unanswerable half teaches "none") and the
    catalogue's train split; reports exact match, F1 and no-answer accuracy on the held-out articles.

    \b
    Examples:
      memchat train-reader --results results/reader
      memchat train-reader --personal 500 --epochs 2 --out /tmp/reader.pt
      memchat train-reader --written 0 --out /tmp/reader-no-written.pt
      memchat train-reader --joint --out /tmp/joint.pt --results results/reader-joint
      memchat train-reader --dialogues --out /tmp/reader-dream.pt --results results/reader-dream
      memchat train-reader --exact --out /tmp/reader-exact.pt --results results/reader-exact
      memchat train-reader --recency --out /tmp/reader-recency.pt --results results/reader-recency
      memchat train-reader --members 3 --results results/reader
      memchat train-reader --member 1 --out /tmp/reader-m1.pt
    """
    from lab.reading_training import RECIPES, ReadingTrainConfig, recipe_flags, train_reader_ensemble

    if len(set(recipes)) > 1:
        raise click.UsageError("--joint, --dialogues, --exact and --recency are four recipes: choose one")
    if (members > 1 or member) and "joint" in recipes:
        raise click.UsageError("the joint reader is trained alone: --joint takes no --members or --member")
    recipe = ReadingTrainConfig(seed=seed, member=member, **(RECIPES[recipes[0]] if recipes else {}))
    metrics = _train_on_word_vectors(functools.partial(train_reader_ensemble, members=members), recipe, data,
                                     out_path, personal=personal, written=written, epochs=epochs)
    _reader_results(f"Memory reader written to {esc(out_path)}", metrics, results_path)
    _reproduce("memchat train-reader" + recipe_flags(dataclasses.asdict(recipe)) + (f" --epochs {epochs}" if epochs else "")
               + (f" --written {written}" if written is not None else "") + (f" --members {members}" if members > 1 else "")
               + (f" --member {member}" if member else ""), "personal", personal, seed)


@cli.command("join-readers")
@click.argument("members", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              default=SHIPPED_MODEL.with_name("reader.pt"), show_default="assistant/models/reader.pt",
              help="Where the ensemble goes (the default is the one memchat ships).")
@click.option("--results", "results_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the ensemble's SQuAD 2.0 figures to RESULTS.json and RESULTS.md.")
@data_option("")
def join_readers_cmd(members: tuple[Path, ...], out_path: Path, results_path: Path | None, data: Path) -> None:
    """Join memory readers trained apart (`memchat train-reader --member N`) into one ensemble.

    The members must share one recipe; the chat averages their probabilities. The ensemble's threshold is
    chosen on the recipe's development examples and its SQuAD 2.0 held-out figures are made (a few minutes,
    most of it embedding).

    \b
    Examples:
      memchat join-readers /tmp/reader-m0.pt /tmp/reader-m1.pt /tmp/reader-m2.pt
      memchat join-readers m0.pt m1.pt --out /tmp/reader.pt --results /tmp/reader-ensemble
    """
    from lab.reading_training import ensemble_readers

    out_path.parent.mkdir(parents=True, exist_ok=True)
    with stage_progress() as report:
        metrics = ensemble_readers(list(members), data, out_path,
                                   progress=lambda done, total: report("embedding", done, total))
    metrics["command"] = "memchat join-readers " + " ".join(str(m) for m in members) + (
        f" --out {out_path}" if out_path != SHIPPED_MODEL.with_name("reader.pt") else "") + (
        f" --results {results_path}" if results_path is not None else "")
    _reader_results(f"Reader ensemble of {len(members)} written to {esc(out_path)}", metrics, results_path)
    out.print(f"Reproduce: {esc(metrics['command'])}")


def _reader_results(title: str, metrics: dict, results_path: Path | None) -> None:
    """A trained or joined reader's figures as a table, and in RESULTS.json / .md when asked."""
    from lab.reading_training import write_results

    test, dream = metrics["squad2_test_articles"], metrics["dream_dev"]
    _result_table(title, [
        ("SQuAD 2.0 held-out articles: EM / F1", f"{test['exact_match']:.1f} / {test['f1']:.1f}"),
        ("... no-answer accuracy", f"{test['no_answer_accuracy']:.1f}%"),
        ("catalogue eval split: memory chosen right", f"{metrics['catalogue_eval']['memory_accuracy']:.1f}%"),
        ("DREAM dev: sentence chosen right / 'none' right",
         f"{dream['memory_accuracy']:.1f}% / {dream['no_answer_accuracy']:.1f}%"),
        ("threshold, best epoch" + ("s of the members" if metrics.get("members", 1) > 1 else ""),
         f"{metrics['threshold']}, {metrics['epoch']}"),
        ("time", f"{metrics['seconds'] / 60:.1f} min")])
    if results_path is not None:
        write_results(metrics, results_path)
        out.print(f"Results: {esc(results_path.with_suffix('.json'))}, {esc(results_path.with_suffix('.md'))}")


def _train_on_word_vectors(train, config, data: Path, out_path: Path, **overrides: int | None) -> dict:
    """Run a recipe over MiniLM's word vectors (`train_turn_model`, `train_reader`) with the options given
    (None: the recipe's), a progress bar while it embeds, writing `out_path`; its metrics."""
    config = dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with stage_progress() as report:
        return train(config, data, out_path, progress=lambda done, total: report("embedding", done, total))


def _prf_text(scores: dict[str, float]) -> str:
    return " / ".join(f"{scores[k]:.1f}%" for k in ("precision", "recall", "f1"))


def _train_on_embeddings(train, config, out_path: Path):
    """Run a classifier's training (`train_update_detector`, `train_answer_finder`) on the bundled
    embedding model, with a progress bar, writing `out_path`."""
    from memory_store.embedder import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with stage_progress() as report:
        return train(config, embedder.embed, embedder.name, out_path, progress=report)


def _reproduce(command: str, option: str, value: int | None, seed: int) -> None:
    """The command line that repeats a training run (only the options that differ from the recipe)."""
    command += (f" --{option} {value}" if value else "") + (f" --seed {seed}" if seed else "")
    out.print(f"Reproduce: {esc(command)}")


def _result_table(title: str, rows: list[tuple[str, str]]) -> None:
    table = Table(title=title, title_justify="left", show_header=False)
    for name, value in rows:
        table.add_row(name, value)
    out.print(table)


# -- the chat session -----------------------------------------------------------------------------
CHAT_HELP = """Tell me things and ask about them. Statements about you and your world are remembered ("remember that
..." always is); questions are answered from memory; "forget that ...", "forget everything about ..." and
"what do you know about me?" work in words too.
  /remember TEXT (/add)   remember TEXT          /forget ID... | TEXT   forget by id, or what TEXT names
  /restore ID             bring a fact back      /facts [all]           what I remember
  /search QUERY           search memory          /why                   the facts behind my last answer
  /explain ID             a fact's memory state  /forecast ID           how a fact will fade
  /pin ID, /unpin ID      keep a fact forever    /advance 7d            look a week ahead (writes nothing)
  /decay [apply]          what has faded; apply writes it to the store
  /history [ID]           the event log          /user NAME             switch to another person
  /help                   this text              /quit                  leave (Ctrl-D works too)"""


@dataclasses.dataclass
class ChatSession:
    """A terminal conversation over the store, with a simulated clock for /advance."""

    app: App
    bot: Any  # the assistant.Assistant
    offset: timedelta = timedelta(0)
    last_reply: Any = None  # the assistant's last Reply, for /why

    def now(self) -> datetime:
        return (self.app.now or datetime.now(timezone.utc)) + self.offset

    def converse(self, line: str) -> bool:
        """One turn through the assistant: its reply, then what it did to memory, dimmed. False when the
        user asked to leave ("exit", "quit" typed without a slash)."""
        reply = self.bot.reply(line, now=self.now())
        self.last_reply = reply
        out.print(Text(reply.text))
        if reply.intent == "help":
            out.print(CHAT_HELP, markup=False)
        if reply.intent == "exit":
            return False
        notes = [f"remembered as fact {f.id}" + (" (known already, reinforced)" if f.reinforced else "")
                 for f in reply.stored]
        notes += [f"fact {f.id} replaced (/restore {f.id} undoes it)" for f in reply.replaced]
        notes += [f"forgot fact {f.id} (/restore {f.id} undoes it)" for f in reply.forgotten]
        used = [str(r.fact.id) for r in reply.recalled if r.used]
        notes += [f"used fact{'s' if len(used) > 1 else ''} {', '.join(used)}; /why"] if used else []
        if notes:
            out.print("[dim]" + esc("; ".join(notes)) + "[/]")
        return True

    def leave(self) -> None:
        """End the session: the assistant consolidates what is still only in short-term memory."""
        stored = self.bot.end_session(now=self.now())
        if stored:
            out.print("[dim]" + esc(f"consolidated {len(stored)} statement(s) into memory") + "[/]")

    def turn(self, line: str) -> bool:
        """Handle one line; False when the user leaves."""
        line = line.strip()
        if not line:
            return True
        if line.startswith("/"):
            name, _, arg = line[1:].partition(" ")
            return self.command(name.lower(), arg.strip())
        return self.converse(line)

    def remember(self, text: str) -> None:
        stored, replaced = self.bot.remember(text, now=self.now())  # the update check, as in conversation
        for fact in stored:
            out.print(f"I knew that (fact [cyan]{fact.id}[/]); I'll remember it longer now." if fact.reinforced
                      else f"Noted (fact [cyan]{fact.id}[/], importance {fact.importance:.2f}).")
        for fact in replaced:
            out.print(f"Fact [cyan]{fact.id}[/] replaced (/restore {fact.id} undoes it).")

    def command(self, name: str, arg: str) -> bool:
        """One slash command, by the dispatch table `SLASH`; False when the user leaves."""
        if name in ("quit", "exit", "q"):
            return False
        handler = SLASH.get(name)
        if handler is None:
            out.print(f"Unknown command /{esc(name)}; /help lists them.")
        else:
            handler(self, arg)
        return True

    def show_help(self, arg: str) -> None:
        out.print(CHAT_HELP, markup=False)

    def add(self, arg: str) -> None:
        self.remember(self.need(arg, "/remember TEXT"))

    def forget(self, arg: str) -> None:
        store, user = self.app.store, self.app.user
        ids = self.ids(arg) if arg and all(w.isdigit() for w in arg.split()) else None
        facts = store.forget_many(ids, now=self.now()) if ids else store.forget_matching(
            self.need(arg, "/forget ID... or /forget TEXT"), user=user, now=self.now())
        out.print("Forgot: " + "; ".join(f"{f.id} {esc(f.text)}" for f in facts) + " (/restore ID undoes it)"
                  if facts else "Nothing matched; nothing forgotten.")

    def restore(self, arg: str) -> None:
        fact = self.app.store.restore(self.ids(arg)[0], now=self.now())
        out.print(f"Restored fact [cyan]{fact.id}[/]: {esc(fact.text)}")

    def facts(self, arg: str) -> None:
        store, user = self.app.store, self.app.user
        items = store.facts(user, include_dormant=arg == "all", now=self.now())
        retention = {f.id: store.retention(f, self.now()) for f in items}
        out.print(facts_table(items, f"{len(items)} fact(s) of {esc(user)}", retention) if items else "I know nothing yet.")

    def search(self, arg: str) -> None:
        hits = self.app.store.search(self.need(arg, "/search QUERY"), k=5, user=self.app.user, now=self.now())
        out.print(hits_table(hits, "Search"))

    def why(self, arg: str) -> None:
        recalled = self.last_reply.recalled if self.last_reply is not None else ()
        out.print(recalled_table(recalled) if recalled else "My last answer read no fact.")

    def explain(self, arg: str, forecast: bool = False) -> None:
        ex = self.app.store.explain(self.ids(arg)[0], now=self.now())
        when = "never (pinned)" if ex.fact.pinned else (_when(ex.fades_at) if ex.fades_at else f"already {ex.fact.status}")
        when = f"already (dormant since {_when(ex.fades_at)})" if ex.status != ex.fact.status else when
        out.print(f"[cyan]{ex.fact.id}[/] {esc(ex.fact.text)}: {ex.status}, retention {ex.retention:.2f}, stability "
                  f"{ex.fact.stability:.1f} days, importance {ex.fact.importance:.2f}, fades {when}")
        if forecast:
            out.print(", ".join(f"+{d:g}d: {r:.2f}" for d, r in ex.forecast))

    def pin(self, arg: str, pinned: bool = True) -> None:
        fact = self.app.store.pin(self.ids(arg)[0], pinned=pinned, now=self.now())
        out.print(f"Fact {fact.id} is {'pinned' if fact.pinned else 'no longer pinned'}.")

    def advance(self, arg: str) -> None:
        step = parse_duration(self.need(arg, "/advance 7d"))
        shifted(self.now(), step)
        self.offset += step
        report = self.app.store.decay(now=self.now(), dry_run=True, user=self.app.user)
        out.print(f"It is now {_when(self.now())} (simulated: nothing is written). By then {len(report.dormant)} "
                  f"fact(s) have faded: out of free recall, a question can still bring one back; "
                  f"{len(report.purged)} would be erased. /decay apply writes it.")

    def decay(self, arg: str) -> None:
        report = self.app.store.decay(now=self.now(), dry_run=arg != "apply", user=self.app.user)
        show_decay(report, self.app.user)
        if report.dry_run and (report.dormant or report.purged):
            out.print("/decay apply writes this to the store.")

    def history(self, arg: str) -> None:
        events = self.app.store.history(self.ids(arg)[0] if arg else None, user=None if arg else self.app.user,
                                        limit=30)
        out.print(events_table(events, "History"))

    def switch_user(self, arg: str) -> None:
        name = self.need(arg, "/user NAME")
        self.app.store.facts(name)  # validates the name
        self.leave()
        self.app.user = name
        self.bot = self.bot.for_user(name)
        out.print(f"Now talking with {esc(self.app.user)}.")

    @staticmethod
    def need(arg: str, usage: str) -> str:
        if not arg:
            raise click.UsageError(f"usage: {usage}")
        return arg

    @staticmethod
    def ids(arg: str) -> list[int]:
        try:
            return [int(w) for w in arg.split()] or [int("")]
        except ValueError:
            raise click.UsageError("give a fact id (a number); /facts lists them") from None


# The chat's slash commands: name -> handler(session, argument). /quit, /exit and /q end the chat.
SLASH: dict[str, Callable[[ChatSession, str], None]] = {
    "help": ChatSession.show_help, "remember": ChatSession.add, "add": ChatSession.add, "forget": ChatSession.forget,
    "restore": ChatSession.restore, "facts": ChatSession.facts, "search": ChatSession.search, "why": ChatSession.why,
    "explain": ChatSession.explain, "forecast": lambda session, arg: session.explain(arg, forecast=True),
    "pin": ChatSession.pin, "unpin": lambda session, arg: session.pin(arg, pinned=False),
    "advance": ChatSession.advance, "decay": ChatSession.decay, "history": ChatSession.history,
    "user": ChatSession.switch_user,
}


@cli.command()
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A chat model trained by `memchat train` (default: the shipped assistant/models/default.pt).")
@click.option("--memory-only", is_flag=True, hidden=True, help="Deprecated: the chat always runs the assistant.")
@pass_app
def chat(app: App, model_path: Path | None, memory_only: bool) -> None:
    """Talk with memchat in the terminal: tell it things, ask about them, make it forget.

    Every line goes through the assistant: the turn model decides what it asks (tell, ask, forget, list,
    small talk, help, exit), the memory reader answers questions from memory, and the LSTM generator
    words the reply. /help lists the slash commands; "help" and "exit" work without the slash too.

    \b
    Examples:
      memchat chat
      memchat --user ana --home ~/memories chat
      memchat chat --model my-model.pt
    """
    try:
        importlib.import_module("readline")  # line editing and history for input()
    except ImportError:
        pass
    if memory_only:
        err.print("[yellow]warning:[/] --memory-only is deprecated and ignored: the chat always runs the assistant.")
    with err.status("Opening memory..."):
        store = app.store
        size = sum(u.active for u in store.stats().users if u.user == app.user)
    from assistant.assistant import DEFAULT_MODEL, Assistant  # torch: only for the chat

    _one_reply_at_a_time()
    path = model_path or DEFAULT_MODEL
    with err.status(f"Loading the model ({path.name})..."):
        bot = Assistant.load(store, user=app.user, checkpoint=path)
    model_note = f"model {path.name}"
    out.print(f"[bold]memchat[/] — {size} fact(s) in memory for {esc(app.user)} at {esc(app.home)} "
              f"({esc(model_note)}; embedder {store.embedder.name}). /help for commands, /quit to leave.")
    session = ChatSession(app, bot=bot)
    while True:
        try:
            line = input(f"{app.user}> ")
        except (EOFError, KeyboardInterrupt):
            out.print()
            break
        try:
            if not session.turn(line):
                break
        except (MemoryStoreError, AssistantError, click.UsageError, ValueError) as e:
            err.print(f"[red]error:[/] {esc(e.message if isinstance(e, click.UsageError) else e)}", highlight=False)
    session.leave()
    out.print("Bye.")


def recalled_table(recalled) -> Table:
    """/why: the facts read for the last reply: how close each was, how likely to answer the question (by
    the answer finder), and how much the reply used it."""
    table = Table(title="Facts behind my last answer", title_justify="left")
    for name, justify in (("id", "right"), ("fact", "left"), ("found by", "left"), ("similarity", "right"),
                          ("retention", "right"), ("importance", "right"), ("answers", "right"), ("attention", "right"), ("used", "left")):
        table.add_column(name, justify=justify)
    for r in recalled:
        table.add_row(str(r.fact.id), Text(r.fact.text), found_by(r.found_by), f"{r.similarity:.3f}",
                      f"{r.retention:.2f}", f"{r.fact.importance:.2f}",
                      "—" if r.answers is None else f"{r.answers:.2f}", f"{r.attention:.2f}", "yes" if r.used else "")
    return table


# -- entry point ----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    """Run the CLI; translate errors into a message and an exit code."""
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        code = cli.main(args=argv, prog_name="memchat", standalone_mode=False)
    except click.exceptions.Abort:
        err.print("Aborted.")
        code = 130
    except click.ClickException as e:
        e.show()
        code = e.exit_code
    except KeyboardInterrupt:
        err.print("Interrupted.")
        code = 130
    except (MemoryStoreError, AssistantError) as e:
        if debug:
            raise
        err.print(f"[red]error:[/] {esc(e)}", highlight=False)
        code = 1
    except Exception as e:  # a bug: say so briefly, traceback with --debug
        if debug:
            raise
        err.print(f"[red]internal error:[/] {type(e).__name__}: {esc(e)} (rerun with --debug for the traceback)", highlight=False)
        code = 3
    sys.exit(code or 0)


if __name__ == "__main__":
    main()
