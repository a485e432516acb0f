"""`flask --app petition ...` commands: thin wrappers over the domain functions."""

import json
from dataclasses import asdict
from pathlib import Path

import click
import flask_migrate
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import inspect, select

from . import audit, mail, petitions, queries, retention, switches, tally
from .auth import AccountError, create_organizer, grant
from .errors import InvalidTransition
from .exports import (
    FORMATS,
    STATUSES,
    ExportFilters,
    manifest_document,
    start_export,
    stream_export,
)
from .extensions import db
from .models import (
    ExportManifest,
    OrganizationType,
    Organizer,
    OrganizerRole,
    Petition,
    SignatureSource,
)


def register_commands(app: Flask) -> None:
    """Attach the commands to the app's CLI."""
    app.cli.add_command(init_db)
    app.cli.add_command(organizer_cli)
    app.cli.add_command(petitions_cli)
    app.cli.add_command(export)
    app.cli.add_command(mail_cli)
    app.cli.add_command(signing_cli)
    app.cli.add_command(import_signatures_command)
    app.cli.add_command(purge)
    app.cli.add_command(recount)


# The revision whose schema `create_all` produced before the service had migrations.
BASELINE_REVISION = "0001"


def upgrade_schema() -> None:
    """Bring the database to the current schema, keeping its data.

    A database created before migrations existed (tables, no alembic_version) is first
    marked as being at the baseline revision, which is the schema it was created with.
    """
    tables = set(inspect(db.engine).get_table_names())
    if "petition" in tables and "alembic_version" not in tables:
        flask_migrate.stamp(revision=BASELINE_REVISION)
    flask_migrate.upgrade()


@click.command("init-db")
def init_db() -> None:
    """Apply the migrations and add the shipped calls, and the shipped translations the
    calls already stored lack; safe on a database with signatures."""
    upgrade_schema()
    try:
        added = petitions.load_shipped_calls()
        translated = petitions.add_shipped_translations()
    except petitions.ContentError as error:
        raise click.ClickException(f"{petitions.CONTENT_DIRECTORY.name}/: {error}") from error
    db.session.commit()
    click.echo(f"Database ready; {len(added)} shipped call(s) added.")
    for petition in added:
        languages = ", ".join(row.language for row in petition.translations)
        click.echo(f"  {petition.slug}" + (f" (translations: {languages})" if languages else ""))
    for slug, language in translated:
        click.echo(f"  {slug}: translation {language} added")


organizer_cli = AppGroup("organizer", help="Manage organizer accounts.")


@organizer_cli.command("create")
@click.argument("email")
@click.password_option(help="Prompted for (twice) if not given.")
@click.option("--owner", is_flag=True, help="Owners manage organizer accounts and every call.")
def create_organizer_command(email: str, password: str, owner: bool) -> None:
    """Create an organizer account (an owner with --owner)."""
    role = OrganizerRole.OWNER if owner else OrganizerRole.ORGANIZER
    try:
        organizer = create_organizer(email, password, role=role)
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"{'Owner' if owner else 'Organizer'} {organizer.email} created.")


@organizer_cli.command("grant")
@click.argument("email")
@click.argument("slug")
def grant_command(email: str, slug: str) -> None:
    """Let an organizer work on a call."""
    organizer = db.session.execute(
        select(Organizer).filter_by(email=email.strip().lower())
    ).scalar_one_or_none()
    if organizer is None:
        raise click.ClickException(f"no organizer with the address {email}")
    grant(organizer, _petition_or_fail(slug))
    db.session.commit()
    click.echo(f"{organizer.email} works on {slug}.")


def _petition_or_fail(slug: str) -> Petition:
    petition = db.session.execute(select(Petition).filter_by(slug=slug)).scalar_one_or_none()
    if petition is None:
        raise click.ClickException(f"no call with the slug {slug!r}")
    return petition


petitions_cli = AppGroup("petitions", help="Manage calls.")


@petitions_cli.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_petition(file: Path) -> None:
    """Add or update a call from a content file (TOML front matter + Markdown), with the
    translations beside it (NAME.LANGUAGE.md for NAME.md, e.g. call.fr.md)."""
    try:
        petition, created = petitions.load_call_file(file)
    except petitions.ContentError as error:
        raise click.ClickException(f"{file.name}: {error}") from error
    db.session.commit()
    click.echo(f"{'Added' if created else 'Updated'} {petition.slug}.")
    languages = [row.language for row in petition.translations]
    if languages:
        click.echo(f"  In {petition.language}, translated into {', '.join(languages)}.")


@petitions_cli.command("list")
def list_petitions() -> None:
    """List the calls with their status and public counts."""
    rows = db.session.execute(queries.all_petitions()).scalars().all()
    if not rows:
        click.echo("No calls yet: run `flask --app petition init-db`.")
    for petition in rows:
        counts = queries.count_signatories(petition)
        click.echo(
            f"{petition.slug}\t{petition.status.value}\t"
            f"{counts.individuals} individuals\t{counts.organizations} organizations"
        )


@click.command("export")
@click.argument("slug")
@click.option("--who", type=click.Choice(["individuals", "organizations"]), default="individuals")
@click.option(
    "--status",
    type=click.Choice(sorted({s for statuses in STATUSES.values() for s in statuses})),
    help="Default: confirmed individuals / approved organizations; 'all' includes invalid ones.",
)
@click.option("--all-statuses", is_flag=True, help="Every status (the same as --status all).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Signed from this UTC day.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Until this UTC day, included.")
@click.option("--country", help="A two-letter country code, such as FR.")
@click.option("--wants-updates", is_flag=True, help="Only individuals who asked for news.")
@click.option("--will-attend", is_flag=True, help="Only individuals who will attend the rally.")
@click.option("--source", type=click.Choice([s.value for s in SignatureSource]))
@click.option("--org-type", type=click.Choice([t.value for t in OrganizationType]))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default="-",
    help="File (a manifest is written beside it as FILE.manifest.json), or - for stdout.",
)
def export(
    slug: str,
    who: str,
    status: str | None,
    all_statuses: bool,
    since,
    until,
    country: str | None,
    wants_updates: bool,
    will_attend: bool,
    source: str | None,
    org_type: str | None,
    fmt: str,
    output: Path,
) -> None:
    """Export a call's signatories (confirmed individuals / approved organizations by default)."""
    petition = _petition_or_fail(slug)
    if all_statuses and status not in (None, "all"):
        raise click.UsageError("--all-statuses and --status disagree")
    filters = ExportFilters(
        who=who,
        status="all" if all_statuses else status,
        since=since.date() if since else None,
        until=until.date() if until else None,
        country=country.upper() if country else None,
        wants_updates=wants_updates,
        will_attend=will_attend,
        source=source,
        org_type=org_type,
    )
    problems = filters.problems()
    if problems:
        options = (f"--{name.replace('_', '-')}: {text}" for name, text in problems.items())
        raise click.UsageError("; ".join(options))
    query = filters.query(petition)
    manifest = start_export(petition, filters, fmt)
    db.session.commit()
    manifest_id = manifest.id
    to_file = str(output) != "-"
    with click.open_file(str(output), "wb") as out:
        for chunk in stream_export(manifest_id, who, fmt, query):
            out.write(chunk)
    db.session.commit()
    manifest = db.session.get(ExportManifest, manifest_id)
    document = json.dumps(manifest_document(manifest), indent=2, ensure_ascii=False) + "\n"
    if to_file:
        manifest_file = output.with_name(output.name + ".manifest.json")
        manifest_file.write_text(document, encoding="utf-8")
        click.echo(
            f"{manifest.row_count} rows written to {output}; manifest {manifest_file}", err=True
        )


mail_cli = AppGroup("mail", help="The outgoing mail queue.")


@mail_cli.command("send")
@click.option(
    "--forever",
    is_flag=True,
    help="Keep sending as mails are queued, retrying failures with a growing delay.",
)
@click.option("--poll", default=2.0, show_default=True, help="Seconds between looks (--forever).")
def send_mail(forever: bool, poll: float) -> None:
    """Send the queued mails: once, all of them now (after an SMTP outage), or --forever."""
    if forever:
        click.echo("Sending mails as they are queued; Ctrl-C to stop.")
        try:
            mail.send_forever(poll_seconds=poll)
        except KeyboardInterrupt:
            return
    sent, failed = mail.send_pending(due_only=False)
    click.echo(f"{sent} sent, {failed} failed (kept for the next try).")
    if failed:
        raise SystemExit(1)


signing_cli = AppGroup("signing", help="Pause or resume all signing, on every server at once.")

DEFAULT_PAUSE_NOTICE = "Signing is paused for a short while. Please come back later."


@signing_cli.command("pause")
@click.option("--notice", default=DEFAULT_PAUSE_NOTICE, show_default=True)
def pause_signing(notice: str) -> None:
    """Refuse every signature and endorsement, showing a notice on the pages."""
    switches.pause_signing(notice)
    db.session.commit()
    click.echo(f"Signing paused. Pages show: {notice}")


@signing_cli.command("resume")
def resume_signing() -> None:
    """Take signatures again."""
    switches.resume_signing()
    db.session.commit()
    click.echo("Signing resumed.")


@click.command("purge")
@click.option(
    "--unconfirmed-older-than",
    "days",
    type=click.IntRange(min=0),
    default=None,
    help="Delete signatures unconfirmed after DAYS days [default: PURGE_UNCONFIRMED_DAYS, 30].",
)
@click.option("--call", "slug", help="Delete every signature of this closed call now.")
@click.option("--yes", is_flag=True, help="Do not ask before deleting a whole call's data.")
def purge(days: int | None, slug: str | None, yes: bool) -> None:
    """Delete personal data no longer needed; run it daily (cron, a systemd timer).

    Without --call: unconfirmed signatures past their retention, and every call whose
    `purge_after_days` have passed since its campaign ended (counts are kept).
    """
    if slug is not None:
        petition = _petition_or_fail(slug)
        if not yes:
            click.confirm(f"Delete every signature of {petition.slug}, keeping counts?", abort=True)
        try:
            deleted = retention.purge_call(petition)
        except InvalidTransition as error:
            raise click.ClickException(str(error)) from error
        db.session.commit()
        retention.wipe_deleted_data()
        queries.forget_counts(petition)
        click.echo(
            f"{petition.slug}: {deleted['signatures']} signatures and "
            f"{deleted['endorsements']} endorsements deleted; counts kept."
        )
        return
    days = current_app.config["PURGE_UNCONFIRMED_DAYS"] if days is None else days
    deleted = retention.purge_unconfirmed(days)
    click.echo(
        f"Unconfirmed for over {days} days: {deleted['signatures']} signatures and "
        f"{deleted['endorsements']} endorsements deleted."
    )
    for petition in retention.calls_due_for_purge():
        deleted = retention.purge_call(petition)
        click.echo(
            f"{petition.slug} (ended, retention over): {deleted['signatures']} signatures and "
            f"{deleted['endorsements']} endorsements deleted; counts kept."
        )
    mails = retention.purge_old_mails(days)
    click.echo(f"Mails sent or given up over {days} days ago: {mails} deleted.")
    origin_days = current_app.config["ORIGIN_DAYS"]
    forgotten = retention.forget_origins(origin_days)
    click.echo(f"Origins of signatures older than {origin_days} days: {forgotten} erased.")
    db.session.commit()
    retention.wipe_deleted_data()


@click.command("recount")
@click.argument("slug", required=False)
@click.option("--dry-run", is_flag=True, help="Report the differences; repair nothing.")
def recount(slug: str | None, dry_run: bool) -> None:
    """Check the counts of one call (SLUG) or all against their rows; repair any difference.

    A check, not a chore: the database's triggers keep the counts exact in the
    transaction of every change, so it should find nothing. It also says if the
    triggers are missing. A repair makes signing wait for the recount (seconds).
    """
    petition = _petition_or_fail(slug) if slug else None
    connection = db.session.connection()
    missing = tally.missing_triggers(connection)
    if missing:
        raise click.ClickException(
            f"the triggers that keep the counts are missing ({', '.join(sorted(missing))}):"
            " create them again (petition/tally.py) before recounting"
        )
    found = tally.recount(connection, petition.id if petition else None, dry_run=dry_run)
    if not found:
        click.echo("The counts match the signatures and endorsements.")
        return
    slugs = dict(db.session.execute(select(Petition.id, Petition.slug)).all())
    for difference in found:
        call = slugs.get(difference.petition_id, f"deleted call {difference.petition_id}")
        click.echo(
            f"{call}: {difference.kind} {difference.status}: the tally said"
            f" {difference.tallied}, the rows are {difference.counted}"
        )
    if dry_run:
        db.session.rollback()
        raise click.ClickException(f"{len(found)} count(s) differ; nothing repaired (--dry-run).")
    audit.record("recount", petition=petition, repaired=[asdict(d) for d in found])
    db.session.commit()
    click.echo(f"{len(found)} count(s) repaired from the rows.")


@click.command("import-signatures")
@click.argument("slug")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--source",
    type=click.Choice(["paper", "import"]),
    default="paper",
    show_default=True,
    help="paper: collected in the street (email optional); import: another tool's export.",
)
@click.option(
    "--map",
    "pairs",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="The file's column for one of our fields, e.g. --map full_name=Name (repeatable).",
)
@click.option("--keep-valid", is_flag=True, help="Store the valid rows even if some are rejected.")
@click.option("--dry-run", is_flag=True, help="Check the file and store nothing.")
def import_signatures_command(
    slug: str, file: Path, source: str, pairs: tuple[str, ...], keep_valid: bool, dry_run: bool
) -> None:
    """Import signatures from a CSV file as confirmed, without mail (no row limit)."""
    from . import imports

    petition = _petition_or_fail(slug)
    try:
        mapping = imports.parse_mapping(pairs)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--map") from error
    with file.open("rb") as binary:
        try:
            csv_file = imports.open_csv(binary)
            report = imports.import_signatures(
                petition,
                csv_file.text,
                mapping=mapping,
                source=SignatureSource(source),
                keep_valid=keep_valid,
                dry_run=dry_run,
                filename=file.name,
                encoding=csv_file.encoding,
                sha256=csv_file.sha256,
            )
        except imports.ImportFileError as error:
            db.session.rollback()
            raise click.ClickException(f"{file.name}: {error.message}") from error
    if report.stored:
        db.session.commit()
        queries.forget_counts(petition)
    else:
        db.session.rollback()
    for line in imports.report_lines(report):
        click.echo(line)
    if report.failed:
        raise SystemExit(1)
