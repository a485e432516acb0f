"""`flask --app petition ...` commands: thin wrappers over the domain functions."""

from pathlib import Path

import click
import flask_migrate
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import inspect, select

from . import audit, mail, petitions, queries, switches
from .auth import AccountError, create_organizer
from .exports import export_csv
from .extensions import db
from .models import Organizer, OrganizerRole, Petition


def register_commands(app: Flask) -> None:
    """Attach the commands to the app's CLI."""
    app.cli.add_command(init_db)
    app.cli.add_command(organizer_cli)
    app.cli.add_command(petitions_cli)
    app.cli.add_command(export)
    app.cli.add_command(mail_cli)
    app.cli.add_command(signing_cli)


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
    """Apply the migrations and add the shipped calls; safe on a database with signatures."""
    upgrade_schema()
    added = petitions.load_shipped_calls()
    db.session.commit()
    click.echo(f"Database ready; {len(added)} shipped call(s) added.")
    for petition in added:
        click.echo(f"  {petition.slug}")


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
    audit.record("create_account", subject=f"organizer {organizer.id}", role=role.value)
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
    petition = _petition_or_fail(slug)
    if petition not in organizer.petitions:
        organizer.petitions.append(petition)
    audit.record("grant", petition=petition, subject=f"organizer {organizer.id}")
    db.session.commit()
    click.echo(f"{organizer.email} works on {petition.slug}.")


def _petition_or_fail(slug: str) -> Petition:
    petition = db.session.execute(select(Petition).filter_by(slug=slug)).scalar_one_or_none()
    if petition is None:
        raise click.ClickException(f"no call with the slug {slug!r}")
    return petition


petitions_cli = AppGroup("petitions", help="Manage calls.")


@petitions_cli.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_petition(file: Path) -> None:
    """Add or update a call from a content file (TOML front matter + Markdown)."""
    try:
        petition, created = petitions.load_call_file(file)
    except petitions.ContentError as error:
        raise click.ClickException(f"{file.name}: {error}") from error
    db.session.commit()
    click.echo(f"{'Added' if created else 'Updated'} {petition.slug}.")


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
@click.option("--all-statuses", is_flag=True, help="Include pending, rejected, ... too.")
@click.option("-o", "--output", type=click.File("wb"), default="-", help="File, or - for stdout.")
def export(slug: str, who: str, all_statuses: bool, output) -> None:
    """Export a call's signatories as CSV (confirmed individuals / approved organizations)."""
    petition = _petition_or_fail(slug)
    if who == "individuals":
        query = queries.export_individuals(petition, all_statuses)
    else:
        query = queries.export_organizations(petition, all_statuses)
    for chunk in export_csv(query, who):
        output.write(chunk)


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
