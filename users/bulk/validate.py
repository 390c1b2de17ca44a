"""Validate every row of a users CSV against the organisation, without writing: the import's preview and plan.

Checks run column-wise where they can (pandas) and look the database up in bulk (a few queries per 5,000
rows, never one per row). Each rule reuses the validators and helpers of the single-object actions:
`normalize_number`, `validate_extension`, `check_license_set`, `check_license_units`, the model's field
lengths and email validator.
"""
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pandas as pd
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db.models.functions import Lower
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from calling.models import Line, Number
from calling.validators import normalize_number, validate_extension
from controlhub.models import Location, Organization
from devices.models import Device
from users.actions import check_license_set, check_license_units
from users.models import CALLING_PERSON_KINDS, PERSON_SERVICE_FLAGS, License, Person

from . import columns as C
from .parse import EXTRA_CELLS, ROW_NUMBER, ParsedFile

FIELD_COLUMNS = {**{field: column for column, field in C.PERSON_TEXT_COLUMNS.items()}, "location_id": C.LOCATION,
                 "owner": C.PHONE_OWNER, "model": C.PHONE_MODEL, "mac": C.PHONE_MAC}
LOOKUP_CHUNK = 5000
PREVIEW_ROWS = 10
MODES = ("add-services", "add-and-remove-services")

CREATE, UPDATE, UNCHANGED, ERROR = "create", "update", "unchanged", "error"
KINDS = (CREATE, UPDATE, UNCHANGED, ERROR)


@dataclass(slots=True)
class RowPlan:
    """What one row will do. `fields` are Person fields to set; `calling` the line after the import."""

    row: int
    email: str
    index: int                       # position in the DataFrame, for the error report
    kind: str = ERROR
    errors: list | None = None       # [(column, reason)], created on the first error (100k plans stay small)
    person_id: object = None
    fields: dict = field(default_factory=dict)
    add: list | tuple = ()           # licence pks
    remove: list | tuple = ()
    calling: str | None = None       # None (no change), "create", "update", "delete"
    line_location_id: object = None
    extension: str | None = None
    number_id: object = None
    extra: dict | None = None        # what the apply step needs beyond the above (phones), not shown in previews

    def error(self, column: str | None, reason: str) -> None:
        if self.errors is None:
            self.errors = []
        self.errors.append((column or "", str(reason)))

    def changed_columns(self) -> list[str]:
        """The CSV columns this row changes, as the administrator wrote them."""
        names = [FIELD_COLUMNS.get(name, name) for name in self.fields]
        if self.add or self.remove:
            names.append(_("Services"))
        if self.calling == "delete":
            names.append(_("Calling (removed)"))
        elif self.calling:  # what the row's calling will have: the preview names no column it leaves empty
            held = [str(what) for what, value in ((_("extension"), self.extension), (_("phone number"), self.number_id))
                    if value]
            names.append(_("Calling (%(what)s)") % {"what": ", ".join(held)})
        return names

    def describe(self) -> str:
        return "; ".join(f"{c}: {r}" if c else r for c, r in self.errors or ())


@dataclass
class Validation:
    file_errors: list[str]
    plans: list[RowPlan]
    licences: list[License] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = Counter(p.kind for p in self.plans)
        return {k: counts.get(k, 0) for k in KINDS}

    def preview(self) -> dict:
        """The first rows of each outcome, JSON-safe, for the preview page and the API."""
        out: dict[str, list] = {k: [] for k in KINDS}
        for plan in self.plans:
            rows = out[plan.kind]
            if len(rows) < PREVIEW_ROWS:
                rows.append({"row": plan.row, "email": plan.email,
                             "errors": [{"column": c, "reason": r} for c, r in plan.errors or ()],
                             "changes": plan.changed_columns()})
        return {"rows": out, "fileErrors": self.file_errors}


ROWS_LISTED = 5
NO_SERVICES: frozenset = frozenset()


def rows_text(rows: list[int]) -> str:
    """The rows a repeated value is on, for its error: "2, 7, 9", or the first ROWS_LISTED and how many more. A value
    repeated on all 20k rows of a file would otherwise put 20k row numbers into each of its 20k messages (and the
    error report): quadratic in time and memory. Callers format one message per value and share it."""
    shown = ", ".join(map(str, rows[:ROWS_LISTED]))
    more = len(rows) - ROWS_LISTED
    if more <= 0:
        return shown
    return ngettext("%(rows)s and %(more)s more", "%(rows)s and %(more)s more", more) % {
        "rows": shown, "more": number_format(more, force_grouping=True)}   # "19,995", as the page groups its counts


def _max_length(name: str) -> int:
    return Person._meta.get_field(name).max_length


_email_validator = EmailValidator()
# A strict subset of what `EmailValidator` accepts (dot-atom of common characters @ LDH labels, a letters-only
# TLD): a column of 100k addresses is matched at once, and only the rest go through the validator one by one.
# tests/unit/test_bulk_parse.py checks the subset property.
PLAIN_EMAIL = r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"


def _email_problem(value: str) -> str | None:
    try:
        _email_validator(value)
    except ValidationError as exc:
        return exc.messages[0]
    if len(value) > _max_length("email"):
        return _("Ensure this value has at most %(n)s characters.") % {"n": _max_length("email")}
    return None


def _number_problem(raw: str, country: str) -> tuple[str | None, str | None]:
    """(e164, problem). A run of digits without `+` is what a spreadsheet leaves of +E.164: say so."""
    compact = raw.replace(" ", "").replace("-", "")
    if compact.isdigit() and len(compact) >= 8:
        return None, _("“%(value)s” has no leading +; a spreadsheet probably removed it. Write it in E.164 with "
                       "its + (e.g. +%(value)s) and format the column as text before saving.") % {"value": compact}
    try:
        return normalize_number(raw, country), None
    except ValidationError as exc:
        return None, exc.messages[0]


def _chunks(items: list, size: int = LOOKUP_CHUNK):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def validate(org: Organization, parsed: ParsedFile, mode: str, account=None) -> Validation:
    """Plan every row. Nothing is written; the same function runs for the preview and again before applying."""
    if mode not in MODES:
        return Validation([_("Unknown mode “%(mode)s”; use %(modes)s.") % {"mode": mode, "modes": ", ".join(MODES)}],
                          [])
    licences = list(License.objects.filter(organization=org))
    by_pk = {lic.pk: lic for lic in licences}
    mapped, service_cols, problems = C.match_headers(parsed.headers, licences)
    if problems:
        return Validation(problems, [], licences)
    frame = parsed.frame
    labels = {column: f"{parsed.headers.index(header)}:{header}" for header, column in mapped.items()}
    service_labels = {f"{parsed.headers.index(h)}:{h}": lic for h, lic in service_cols.items()}

    def col(column: str) -> pd.Series | None:
        label = labels.get(column)
        return frame[label] if label is not None and column not in C.READ_ONLY else None

    emails = frame[labels[C.EMAIL]].str.lower()
    unique_emails = [e for e in emails.unique().tolist() if e]
    plain = pd.Series(unique_emails, dtype=object)
    plain = set(plain[plain.str.fullmatch(PLAIN_EMAIL) & (plain.str.len() <= _max_length("email"))].tolist())
    email_problems = {e: p for e in unique_emails if e not in plain and (p := _email_problem(e))}
    duplicated = emails[(emails != "") & emails.duplicated(keep=False)]
    dup_rows: dict[str, list[int]] = defaultdict(list)
    for email, row in zip(duplicated.tolist(), frame.loc[duplicated.index, ROW_NUMBER].tolist(), strict=True):
        dup_rows[email].append(row)
    duplicate_message: dict[str, str] = {}

    # ---- bulk lookups
    lookups = _Lookups(org, account, licences)
    lookups.load_people([e for e in unique_emails if e not in email_problems])
    locations = {loc.name.casefold(): loc for loc in Location.objects.filter(organization=org)}
    allowed_locations = None
    if account is not None and not account.is_superuser:
        allowed_locations = set(Location.objects.restrict(account, "view").filter(organization=org)
                                .values_list("pk", flat=True))
    ext_series, num_series, loc_series = col(C.EXTENSION), col(C.PHONE_NUMBER), col(C.LOCATION)
    extension_values = set()
    if ext_series is not None:
        extension_values = {v for v in ext_series.unique().tolist() if v and not v.upper().startswith(C.REMOVE)}
    lookups.load_extensions(extension_values)
    number_cache: dict[tuple[str, str], tuple] = {}
    if num_series is not None:
        # A cell that is exactly an inventory number in E.164 is that number: the inventory holds only numbers
        # `normalize_number` accepted (and +E.164 reads the same in every country), so only the other cells
        # are parsed one by one.
        lookups.load_numbers({v for v in num_series.unique().tolist() if v.startswith("+")})
        exact = set(lookups.numbers)
        wanted = set()
        for raw, loc_name, email in zip(num_series.tolist(),
                                        loc_series.tolist() if loc_series is not None else [""] * len(frame),
                                        emails.tolist(), strict=True):
            if not raw or raw.upper() == C.REMOVE:
                continue
            loc = locations.get(loc_name.casefold()) if loc_name else None
            if loc is None:
                person = lookups.people.get(email)
                loc = lookups.location_of(person)
            country = loc.country if loc is not None else org.country
            key = (raw, country)
            if key not in number_cache:
                number_cache[key] = (raw, None) if raw in exact else _number_problem(raw, country)
            if number_cache[key][0]:
                wanted.add(number_cache[key][0])
        lookups.load_numbers(wanted - exact)

    text_series = {column: col(column) for column in C.PERSON_TEXT_COLUMNS if col(column) is not None}
    too_long = {column: set(s.index[s.str.len() > _max_length(C.PERSON_TEXT_COLUMNS[column])])
                for column, s in text_series.items()}

    # ---- one pass of plain dict work per row
    plans: list[RowPlan] = []
    ext_rows: dict[str, list[int]] = defaultdict(list)
    num_rows: dict[str, list[int]] = defaultdict(list)
    rows = frame[ROW_NUMBER].tolist()
    extras = frame[EXTRA_CELLS].tolist()
    # (column, Person field, cells, rows too long) per text column: no lookups by column inside the row loop
    texts = [(column, C.PERSON_TEXT_COLUMNS[column], s.tolist(), too_long[column]) for column, s in text_series.items()]
    exts = ext_series.tolist() if ext_series is not None else None
    nums = num_series.tolist() if num_series is not None else None
    locs = loc_series.tolist() if loc_series is not None else None
    services = [(lic, frame[label].tolist()) for label, lic in service_labels.items()]
    # Each row's service cells as one tuple, made in C: the services memo's key with the person's held set.
    service_cells = list(zip(*(values for _lic, values in services), strict=True)) if services else [()] * len(frame)
    remove_mode = mode == "add-and-remove-services"
    licence_sets: dict[frozenset, tuple[str | None, bool]] = {}  # services after the row -> (problem, calling)
    services_seen: dict[tuple, tuple] = {}  # (held set's id, the row's service cells) -> its services outcome
    for i, email in enumerate(emails.tolist()):
        plan = RowPlan(row=int(rows[i]), email=email, index=i)
        plans.append(plan)
        if extras[i]:
            plan.error(None, _("This row has more cells than the header has columns; check for an unquoted "
                               "separator."))
        if not email:
            plan.error(C.EMAIL, _("This column is required."))
            continue
        if email in email_problems:
            plan.error(C.EMAIL, email_problems[email])
            continue
        if email in dup_rows:
            if email not in duplicate_message:
                duplicate_message[email] = _("%(email)s appears more than once in the file (rows %(rows)s); keep one "
                                             "row per user.") % {"email": email, "rows": rows_text(dup_rows[email])}
            plan.error(C.EMAIL, duplicate_message[email])
        if email in lookups.elsewhere:
            plan.error(C.EMAIL, _("A user with the email %(email)s already exists.") % {"email": email})
            continue
        person = lookups.people.get(email)
        if person is not None:
            plan.person_id = person["pk"]
            if lookups.changeable is not None and person["pk"] not in lookups.changeable:
                plan.error(C.EMAIL, _("Your administrator role does not allow changing this user."))
                continue
        elif not lookups.may_create:
            plan.error(C.EMAIL, _("Your administrator role does not allow adding users."))
            continue
        # text fields: blank = unchanged, REMOVE clears
        for column, name, values, too_long_rows in texts:
            value = values[i]
            if not value:
                continue
            if i in too_long_rows:
                plan.error(column, _("Ensure this value has at most %(n)s characters.") % {"n": _max_length(name)})
                continue
            new = "" if value.upper() == C.REMOVE else value
            if person is None or person[name] != new:
                plan.fields[name] = new
        # location
        location = lookups.location_of(person)
        loc_value = locs[i] if locs is not None else ""
        if loc_value and loc_value.upper() != C.REMOVE:
            loc = locations.get(loc_value.casefold())
            if loc is None:
                plan.error(C.LOCATION, _("There is no location named “%(name)s”.") % {"name": loc_value})
            elif allowed_locations is not None and loc.pk not in allowed_locations:
                plan.error(C.LOCATION, _("You can only use locations you administer."))
            elif person is not None and person["location_id"] not in (None, loc.pk):
                plan.error(C.LOCATION, _("A user's location cannot be changed by CSV (%(old)s → %(new)s).")
                           % {"old": location.name, "new": loc.name})
            elif person is None or person["location_id"] is None:
                plan.fields["location_id"] = loc.pk
                location = loc
        elif loc_value and person is not None and person["location_id"] is not None:
            plan.error(C.LOCATION, _("A user's location cannot be removed by CSV."))
        if person is None and location is None and not loc_value and lookups.location_scoped:
            plan.error(C.LOCATION, _("You can only use locations you administer."))
        # services
        current = person.services if person is not None else NO_SERVICES
        # Most rows repeat a handful of service cells over a handful of held sets: work each pair out once.
        memo_key = (id(current), service_cells[i])
        outcome = services_seen.get(memo_key)
        if outcome is None:
            add, remove, problems = set(), set(), []
            for lic, values in services:
                value = values[i].upper()
                if not value:
                    continue
                if value == C.TRUE:
                    add.add(lic.pk)
                elif value == C.FALSE:
                    if remove_mode:
                        remove.add(lic.pk)
                else:
                    problems.append((C.service_header(lic), _("Use TRUE or FALSE, not “%(value)s”.")
                                     % {"value": values[i]}))
            new_set = frozenset((current | add) - remove)
            changes = ((tuple(sorted(new_set - current, key=str)), tuple(sorted(current - new_set, key=str)))
                       if new_set != current else None)
            outcome = services_seen[memo_key] = (problems, changes, new_set)
        problems, changes, new_set = outcome
        for column, reason in problems:
            plan.error(column, reason)
        if changes is not None:
            plan.add, plan.remove = changes
        if new_set not in licence_sets:
            try:
                check_license_set([by_pk[pk] for pk in new_set])
            except ValidationError as exc:
                problem = exc.messages[0]
            else:
                problem = None
            licence_sets[new_set] = (problem, any(by_pk[pk].kind in CALLING_PERSON_KINDS for pk in new_set))
        problem, calling_after = licence_sets[new_set]
        if problem:
            plan.error(_("Services"), problem)
        # calling: extension and number
        line = lookups.lines.get(person["pk"]) if person is not None else None
        ext_value = exts[i] if exts is not None else ""
        num_value = nums[i] if nums is not None else ""
        ext = line["extension"] if line else None
        number_id = line["number_id"] if line else None
        e164 = None
        if ext_value:
            if ext_value.upper().startswith(C.REMOVE):
                ext = None
            else:
                try:
                    ext = validate_extension(ext_value)
                except ValidationError as exc:
                    plan.error(C.EXTENSION, exc.messages[0])
                else:
                    owner = lookups.extensions.get(ext)
                    if owner is not None and (person is None or owner != person["pk"]):
                        plan.error(C.EXTENSION, _("Extension %(ext)s is already in use.") % {"ext": ext})
                    ext_rows[ext].append(i)
        if num_value:
            if num_value.upper() == C.REMOVE:
                number_id = None
            else:
                country = location.country if location is not None else org.country
                e164, problem = number_cache.get((num_value, country)) or _number_problem(num_value, country)
                if problem:
                    plan.error(C.PHONE_NUMBER, problem)
                else:
                    number = lookups.numbers.get(e164)
                    if number is None:
                        plan.error(C.PHONE_NUMBER, _("%(n)s is not in this organization's number inventory; add it "
                                                     "to the location first.") % {"n": e164})
                    elif location is not None and number["location_id"] != location.pk:
                        plan.error(C.PHONE_NUMBER, _("%(n)s belongs to another location than %(here)s.")
                                   % {"n": e164, "here": location.name})
                    elif number["owner"] is not None and (person is None or number["owner"] != person["pk"]):
                        plan.error(C.PHONE_NUMBER, _("%(n)s is already assigned to someone else.") % {"n": e164})
                    else:
                        number_id = number["pk"]
                        num_rows[e164].append(i)
        if line is not None and not calling_after:
            if person["pk"] in lookups.with_devices:
                plan.error(_("Services"), _("%(name)s still has phones; remove them before removing calling.")
                           % {"name": email})
            plan.calling = "delete"
        elif line is None and (ext or number_id):
            if not calling_after:
                plan.error(C.EXTENSION if ext_value else C.PHONE_NUMBER,
                           _("Assign a Webex Calling licence (Professional or Basic) first."))
            if location is None and not any(column == C.LOCATION for column, _r in plan.errors or ()):
                plan.error(C.LOCATION, _("A calling user needs a location."))  # unless its location was wrong
            plan.calling = "create"
        elif line is not None and (ext != line["extension"] or number_id != line["number_id"]):
            if not ext and not number_id:
                plan.error(C.EXTENSION, _("A calling user needs a phone number, an extension, or both."))
            plan.calling = "update"
        plan.extension, plan.number_id = ext, number_id
        plan.line_location_id = line["location_id"] if line else (location.pk if location else None)
    # ---- in-file clashes of extensions and numbers
    for what, column, seen in ((_("Extension"), C.EXTENSION, ext_rows), (_("Phone number"), C.PHONE_NUMBER,
                                                                          num_rows)):
        for value, idxs in seen.items():
            if len(idxs) > 1:
                message = _("%(what)s %(value)s appears in more than one row (rows %(rows)s).") % {
                    "what": what, "value": value, "rows": rows_text([plans[j].row for j in idxs])}
                for j in idxs:
                    plans[j].error(column, message)
    # ---- classify, then hand out licence units in row order
    capacity = lookups.free_units(licences)
    # Usually the units suffice for every valid row: then no row needs counting. The rows' services to add are a
    # handful of shared tuples (the services memo above): count those, not each row's licences (UUIDs hash in
    # Python: 0.1 s of a 100k-row check).
    shared_adds: dict[int, tuple] = {}
    uses: Counter = Counter()
    for plan in plans:
        if plan.add and not plan.errors:
            shared_adds[id(plan.add)] = plan.add
            uses[id(plan.add)] += 1
    wanted: Counter = Counter()
    for key, n in uses.items():
        for pk in shared_adds[key]:
            wanted[pk] += n
    enough = all(n <= capacity[pk] for pk, n in wanted.items())
    adding: Counter = Counter()
    used_up: dict = {}  # licence pk -> the action's own message, asked once: every row past the last unit gets it

    def no_units_left(pk) -> str:
        if pk not in used_up:
            try:
                check_license_units([by_pk[pk]], adding=1 + by_pk[pk].total_units)
            except ValidationError as exc:
                used_up[pk] = exc.messages[0]
        return used_up[pk]

    for plan in plans:
        if plan.errors:
            plan.kind = ERROR
            continue
        if not enough and plan.add:
            over = [pk for pk in plan.add if adding[pk] + 1 > capacity[pk]]
            if over:
                for pk in over:
                    plan.error(C.service_header(by_pk[pk]), no_units_left(pk))
                plan.kind = ERROR
                continue
            adding.update(plan.add)
        if plan.person_id is None:
            plan.kind = CREATE
        elif plan.fields or plan.add or plan.remove or plan.calling:
            plan.kind = UPDATE
        else:
            plan.kind = UNCHANGED
    return Validation([], plans, licences)


class _Record:
    """A row read with values_list: attribute or item access, a fraction of a dict's memory at 100k rows."""

    __slots__ = ()

    def __init__(self, *values):
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)

    def __getitem__(self, name: str):
        return getattr(self, name)


class _PersonRow(_Record):
    # `services`: the licence pks the person holds, one frozenset shared by everyone holding the same
    __slots__ = ("pk", "email", "first_name", "last_name", "display_name", "title", "department", "location_id",
                 "status", "services")


class _LineRow(_Record):
    __slots__ = ("pk", "person_id", "extension", "number_id", "location_id")


# Above this many rows a file reads the organisation's people, lines and numbers whole (a few sequential scans)
# instead of sending thousands of values in IN lists.
ORG_SCAN_ROWS = 2000


class _Lookups:
    """What the rows refer to, fetched in bulk: people with their services, their lines, extensions, numbers."""

    def __init__(self, org: Organization, account, licences: list[License]):
        self.org, self.account = org, account
        self.licences = licences
        self.people: dict[str, _PersonRow] = {}
        self.elsewhere: set[str] = set()
        self.lines: dict = {}
        self.with_devices: set = set()
        self.extensions: dict[str, object] = {}
        self.numbers: dict[str, dict] = {}
        self.changeable: set | None = None
        self.may_create = True
        self.org_scan = False
        self._locations = {loc.pk: loc for loc in Location.objects.filter(organization=org)}
        self.location_scoped = False  # every role that may add people is limited to some locations
        if account is not None and not account.is_superuser:
            self.changeable = set()
            creating = [g for g in account.grants if g.allows(Person.admin_area, "create")]
            self.may_create = bool(creating)
            self.location_scoped = bool(creating) and all(g.location_ids is not None for g in creating)

    def location_of(self, person):
        return self._locations.get(person.location_id) if person is not None else None

    def load_people(self, emails: list[str]) -> None:
        self.org_scan = len(emails) > ORG_SCAN_ROWS
        fields = _PersonRow.__slots__[:-1]
        flags = [(flag, kind) for kind, flag in PERSON_SERVICE_FLAGS.items()]
        held: dict[tuple, frozenset] = {}  # the service flags' values -> the licence pks they stand for
        pks = {lic.kind: lic.pk for lic in self.licences}

        def person(row: tuple) -> _PersonRow:
            values = row[len(fields):]
            services = held.get(values)
            if services is None:
                services = held[values] = frozenset(pks[kind] for (_flag, kind), on in zip(flags, values, strict=True)
                                                    if on and kind in pks)
            return _PersonRow(*row[:len(fields)], services)

        columns = (*fields, *(flag for flag, _kind in flags))
        in_org = Person.objects.filter(organization=self.org)
        if self.org_scan:
            wanted = set(emails)
            for row in in_org.values_list(*columns).iterator(chunk_size=10000):
                if row[1].lower() in wanted:
                    self.people[row[1].lower()] = person(row)
            ids = None  # every person of the organisation: filter the related rows by organisation, not by id
        else:
            for chunk in _chunks(emails):
                for row in in_org.alias(email_lower=Lower("email")).filter(email_lower__in=chunk).values_list(*columns):
                    self.people[row[1].lower()] = person(row)
            ids = [p.pk for p in self.people.values()]
        self._load_elsewhere([e for e in emails if e not in self.people])
        if not self.people:
            return
        lines = Line.objects.filter(person__isnull=False)
        devices = Device.objects.filter(person__isnull=False)
        changeable = Person.objects.restrict(self.account, "change") if self.changeable is not None else None
        for chunk in ([None] if ids is None else _chunks(ids)):
            if chunk is None:
                scope = {"person__organization": self.org}
                own = {"organization": self.org}
            else:
                scope = {"person_id__in": chunk}
                own = {"pk__in": chunk}
            for row in lines.filter(**scope).values_list("pk", "person_id", "extension", "number_id", "location_id") \
                    .iterator(chunk_size=10000):
                self.lines[row[1]] = _LineRow(*row)
            self.with_devices.update(devices.filter(**scope).values_list("person_id", flat=True).distinct())
            if changeable is not None:
                self.changeable.update(changeable.filter(**own).values_list("pk", flat=True))

    def _load_elsewhere(self, emails: list[str]) -> None:
        """Emails are unique across organisations: one parameter per chunk of addresses, not one per address."""
        from django.db import connection

        if connection.vendor != "postgresql":  # the embedded mode (SQLite): plain IN lists
            others = Person.objects.exclude(organization=self.org).alias(email_lower=Lower("email"))
            for chunk in _chunks(emails):
                self.elsewhere.update(e.lower() for e in others.filter(email_lower__in=chunk)
                                      .values_list("email", flat=True))
            return
        table = Person._meta.db_table
        # The addresses travel as one text, split by the server: a list parameter is quoted address by address in
        # Python (0.5 s of a 100k-row check). An address holding a line break is no address (and none is stored).
        emails = [e for e in emails if "\n" not in e]
        with connection.cursor() as cursor:
            for chunk in _chunks(emails, 20000):
                cursor.execute(f"SELECT lower(email) FROM {table} WHERE lower(email) = ANY(string_to_array(%s, "
                               "E'\\n')) AND organization_id <> %s", ["\n".join(chunk), self.org.pk])
                self.elsewhere.update(email for (email,) in cursor.fetchall())

    def load_extensions(self, extensions: set[str]) -> None:
        lines = Line.objects.filter(organization=self.org, extension__isnull=False)
        if len(extensions) > ORG_SCAN_ROWS:
            for ext, person_id, workspace_id in lines.values_list("extension", "person_id", "workspace_id") \
                    .iterator(chunk_size=10000):
                if ext in extensions:
                    self.extensions[ext] = person_id or workspace_id
            return
        for chunk in _chunks(sorted(extensions)):
            for ext, person_id, workspace_id in lines.filter(extension__in=chunk) \
                    .values_list("extension", "person_id", "workspace_id"):
                self.extensions[ext] = person_id or workspace_id

    def load_numbers(self, e164s: set[str]) -> None:
        numbers = Number.objects.filter(organization=self.org)
        fields = ("pk", "e164", "location_id", "line__person_id", "line__workspace_id")
        rows = (numbers.values_list(*fields).iterator(chunk_size=10000) if len(e164s) > ORG_SCAN_ROWS else
                (row for chunk in _chunks(sorted(e164s)) for row in numbers.filter(e164__in=chunk)
                 .values_list(*fields)))
        for pk, e164, location_id, person_id, workspace_id in rows:
            if e164 in e164s:
                self.numbers[e164] = {"pk": pk, "location_id": location_id, "owner": person_id or workspace_id}

    def free_units(self, licences: list[License]) -> dict:
        used = dict(License.objects.filter(organization=self.org).with_users().values_list("pk", "users"))
        return {lic.pk: lic.total_units - used.get(lic.pk, 0) for lic in licences}
