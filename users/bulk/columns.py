"""The users CSV column spec (Control Hub's format, reference/webex-api.md §9): names, order, what is read-only.

One place names every column, so export, the template, header matching and the error report agree.
"""
import difflib

from django.utils.translation import gettext as _

FIRST_NAME = "First Name"
LAST_NAME = "Last Name"
DISPLAY_NAME = "Display Name"
EMAIL = "User ID/Email (Required)"
STATUS = "User Status"
LAST_ACCESS = "Last Service Accessed Time"
DAYS_SINCE_ACCESS = "Days since Last Service Accessed"
EXTENSION = "Extension"
TITLE = "Title"
DEPARTMENT = "Department"
MANAGER = "Manager"
PHONE_NUMBER = "Phone Number"
CALLER_ID_NUMBER = "Caller ID Number"
CALLER_ID_FIRST = "Caller ID First Name"
CALLER_ID_LAST = "Caller ID Last Name"
LOCATION = "Location"
LANGUAGE = "Preferred Language"
TIME_ZONE = "Time zone"
ADDRESS_COLUMNS = ("Address 1", "Address 2", "City", "State/Province/Region", "Zip/Postal Code", "Country")
ERROR = "Error"  # added by our error report: ignored on import, so a fixed report re-imports as is

BASE_COLUMNS = (FIRST_NAME, LAST_NAME, DISPLAY_NAME, EMAIL, STATUS, LAST_ACCESS, DAYS_SINCE_ACCESS, EXTENSION,
                TITLE, DEPARTMENT, MANAGER, PHONE_NUMBER, CALLER_ID_NUMBER, CALLER_ID_FIRST, CALLER_ID_LAST,
                LOCATION, LANGUAGE, TIME_ZONE, *ADDRESS_COLUMNS)

# Read on export only (Control Hub ignores them on import); Caller ID, language, time zone and address are not
# modelled per person here yet, so they are exported blank and ignored on import, like the status columns.
READ_ONLY = frozenset({STATUS, LAST_ACCESS, DAYS_SINCE_ACCESS, MANAGER, CALLER_ID_NUMBER, CALLER_ID_FIRST,
                       CALLER_ID_LAST, LANGUAGE, TIME_ZONE, *ADDRESS_COLUMNS, ERROR})

# CSV column -> Person field, for the plain text columns an import may set.
PERSON_TEXT_COLUMNS = {FIRST_NAME: "first_name", LAST_NAME: "last_name", DISPLAY_NAME: "display_name",
                       TITLE: "title", DEPARTMENT: "department"}

# Short names people type for a column, used only to suggest the real header (never accepted as such).
SUGGEST_ALIASES = {"Email": EMAIL, "E-mail": EMAIL, "User ID": EMAIL, "Phone": PHONE_NUMBER, "Ext": EXTENSION,
                   "Name": DISPLAY_NAME}

REMOVE = "REMOVE"
TRUE, FALSE = "TRUE", "FALSE"


def service_header(licence) -> str:
    """A service column's header: the licence name, with its subscription as Control Hub writes it."""
    return f"{licence.name} [{licence.subscription_id}]" if licence.subscription_id else licence.name


def header_row(licences) -> list[str]:
    return [*BASE_COLUMNS, *(service_header(lic) for lic in licences)]


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def match_headers(headers: list[str], licences, known_columns: tuple[str, ...] = BASE_COLUMNS,
                  required: tuple[str, ...] = (EMAIL,)) -> tuple[dict[str, str], dict, list[str]]:
    """Map a file's headers onto known columns.

    Returns ({file header: column}, {file header: licence}, [problems]). Headers match ignoring case and
    repeated spaces; a service column matches with or without its `[subscription]` suffix. Unknown and
    duplicate headers are problems (never silently dropped), with the nearest known name suggested.
    """
    known = {_key(c): c for c in (*known_columns, ERROR)}
    services = {}
    for lic in licences:
        services[_key(service_header(lic))] = lic
        services[_key(lic.name)] = lic
    columns: dict[str, str] = {}
    service_cols: dict[str, object] = {}
    problems: list[str] = []
    seen: set[str] = set()
    candidates = {c: c for c in (*known_columns, *(service_header(lic) for lic in licences))}
    if known_columns is BASE_COLUMNS:
        candidates.update(SUGGEST_ALIASES)
    for header in headers:
        key = _key(header)
        if not key:
            continue  # an unnamed trailing column (a spreadsheet's stray separator): its cells are checked per row
        if key in seen:
            problems.append(_("The column “%(name)s” appears twice.") % {"name": header})
            continue
        seen.add(key)
        if key in known:
            columns[header] = known[key]
        elif key in services:
            service_cols[header] = services[key]
        else:
            close = difflib.get_close_matches(header, list(candidates), n=1, cutoff=0.6)
            if close:
                problems.append(_("Unknown column “%(name)s”. Did you mean “%(guess)s”?")
                                % {"name": header, "guess": candidates[close[0]]})
            else:
                problems.append(_("Unknown column “%(name)s”; it matches no user field or service of this "
                                  "organization.") % {"name": header})
    for name in required:
        if name not in columns.values():
            problems.append(_("The column “%(name)s” is required.") % {"name": name})
    return columns, service_cols, problems


# --------------------------------------------------------------------------------------------- bulk phones CSV

PHONE_OWNER = "User ID/Email or Workspace"
PHONE_MODEL = "Model"
PHONE_MAC = "MAC Address"
PHONE_LOCATION = "Location"
PHONE_COLUMNS = (PHONE_OWNER, PHONE_MODEL, PHONE_MAC, PHONE_LOCATION)
# Optional line appearances, per port (the owner's own line is on port 1): another user's or workspace's line
# shared on the phone, and the label the phone shows for it. As many ports as the largest MPP model has.
PHONE_MAX_PORT = 16
PHONE_TEMPLATE_PORTS = 4  # the template shows ports 2–4; further ports follow the same pattern


def phone_line_owner(port: int) -> str:
    return f"Line {port} User ID/Email or Workspace"


def phone_line_label(port: int) -> str:
    return f"Line {port} Label"


PHONE_LINE_COLUMNS = tuple(column for port in range(2, PHONE_MAX_PORT + 1)
                           for column in (phone_line_owner(port), phone_line_label(port)))
PHONE_ALL_COLUMNS = PHONE_COLUMNS + PHONE_LINE_COLUMNS
PHONE_TEMPLATE_COLUMNS = PHONE_COLUMNS + PHONE_LINE_COLUMNS[:2 * (PHONE_TEMPLATE_PORTS - 1)]
