"""`madoguchi mail <sub-command>`: work with raw mail from the command line.

- `mail parse FILE...` prints one JSON object per file (JSON Lines), the contract of
  DESIGN.md. A file that cannot be read still gets a line, with a defect; the exit status is
  non-zero only when a file does not exist.
- `mail import --shop SLUG PATH...` imports past mail (.eml files, Maildir, mbox) through the
  live pipeline and prints one JSON object with the counts (DESIGN.md "Contracts").
"""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.connectors.mail.parsing import Defect, ParsedMail, parse_mail


def _unreadable(kind: str, detail: str) -> ParsedMail:
    return ParsedMail(
        message_id=None,
        in_reply_to=None,
        references=(),
        from_address=None,
        from_name=None,
        reply_to=(),
        to=(),
        cc=(),
        subject="",
        date=None,
        body_text="",
        body_html=None,
        attachments=(),
        auto_submitted=False,
        is_bounce=False,
        defects=(Defect(kind, detail),),
    )


class Command(BaseCommand):
    help = "Work with raw mail: `parse FILE...` prints the parsed mail as JSON Lines."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
        commands.required = True
        parse = commands.add_parser(
            "parse",
            help="print one JSON object per mail file (JSON Lines)",
            # Django passes its own parser class; sub-parsers must not exit on error either.
            called_from_command_line=getattr(parser, "called_from_command_line", None),
        )
        parse.add_argument("files", nargs="+", metavar="FILE", help=".eml files")
        import_ = commands.add_parser(
            "import",
            help="import past mail (.eml, Maildir, mbox) into a shop; prints one JSON object",
            called_from_command_line=getattr(parser, "called_from_command_line", None),
        )
        import_.add_argument("--shop", required=True, metavar="SLUG", help="the shop's slug")
        import_.add_argument("paths", nargs="+", metavar="PATH", help=".eml, Maildir or mbox")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "parse":
            self._parse([Path(name) for name in options["files"]])
        elif options["subcommand"] == "import":
            self._import(options["shop"], [Path(name) for name in options["paths"]])

    def _import(self, slug: str, paths: list[Path]) -> None:
        from madoguchi.connectors.mail.services import mail_import
        from madoguchi.tenancy.models import Shop
        from madoguchi.tenancy.scoping import in_shop

        shop = Shop.objects.filter(slug=slug).first()
        if shop is None:
            raise CommandError(f"No shop with the slug {slug!r}.")
        missing = [str(path) for path in paths if not path.exists()]
        if missing:
            raise CommandError(f"missing: {', '.join(missing)}")
        with in_shop(shop.id):
            summary = mail_import(shop=shop, paths=paths)
        self.stdout.write(json.dumps(summary.to_json()))

    def _parse(self, paths: list[Path]) -> None:
        missing: list[str] = []
        for path in paths:
            try:
                parsed = parse_mail(path.read_bytes())
            except FileNotFoundError:
                missing.append(str(path))
                parsed = _unreadable("missing_file", f"{path}: no such file")
            except OSError as error:
                parsed = _unreadable("unreadable_file", f"{path}: {error.strerror or error}")
            self.stdout.write(json.dumps(parsed.to_json(), ensure_ascii=False))
        if missing:
            raise CommandError(f"missing: {', '.join(missing)}", returncode=1)
