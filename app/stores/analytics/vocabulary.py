"""How the analytics read events, in SQL: names, durations and numbers as docs/events.md
defines them, through a project's event mapping (app/domain/vocabulary.py).

Raw events are stored as sent; `VocabularySql` turns a mapping into the expressions one
statement reads events with: which raw types count as a vocabulary type, the vocabulary type of
an event, and where a vocabulary field is in its event_data. Client type names and paths are
always bound as parameters; only the vocabulary's own names appear in the SQL text.
"""

from decimal import Decimal

from app.domain.vocabulary import VOCABULARY, EventMapping, TypeRule

# What a name is trimmed of: the characters Python's str.strip() removes (the ground truth
# trims with it), spelled out for PostgreSQL's btrim as Unicode escapes (the database is UTF-8).
WHITESPACE_CHARACTERS = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())
WHITESPACE_SQL = "E'" + "".join(f"\\u{ord(char):04X}" for char in WHITESPACE_CHARACTERS) + "'"
# A numeric string once trimmed (docs/events.md). Exponents have at most four digits: casting
# anything longer to numeric could overflow, and such a "duration" means nothing anyway.
NUMERIC_TEXT_PATTERN = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,4})?$"
# Clock text, once trimmed: m:ss and h:mm:ss, seconds with an optional fraction. Garbage such as
# "1,77,50,078:30:03" (an uninitialised Unreal timer) matches neither.
MINUTES_CLOCK_PATTERN = r"^[0-9]{1,7}:[0-5]?[0-9](\.[0-9]{1,6})?$"
HOURS_CLOCK_PATTERN = r"^[0-9]{1,5}:[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?$"
MAX_EXPLICIT_DURATION_SECONDS = 86400
# The vocabulary's own place events, for queries that do not read through a mapping yet.
PLACE_EVENT_TYPES_SQL = "('room_view', 'zone_enter', 'zone_exit')"
SECONDS_PER_UNIT = {"seconds": Decimal(1), "milliseconds": Decimal("0.001"), "minutes": Decimal(60)}


def name_sql(json_value: str) -> str:
    """A name (room, POI, target, ...) from a jsonb value: a JSON string, trimmed; NULL when it
    is missing, blank or not a string."""
    return (
        f"(CASE WHEN jsonb_typeof({json_value}) = 'string' "
        f"THEN nullif(btrim({json_value} #>> '{{}}', {WHITESPACE_SQL}), '') END)"
    )


def duration_seconds_sql(json_value: str, *, seconds_per_unit: str = "1") -> str:
    """Seconds from a jsonb value: a number or numeric string (times `seconds_per_unit`), or
    clock text; NULL when it is none of these. The regular expressions guard every cast, so
    garbage never raises."""
    text = f"btrim({json_value} #>> '{{}}', {WHITESPACE_SQL})"
    return f"""(CASE
        WHEN jsonb_typeof({json_value}) = 'number'
            THEN ({json_value})::numeric * {seconds_per_unit}
        WHEN jsonb_typeof({json_value}) <> 'string' THEN NULL
        WHEN {text} ~ '{NUMERIC_TEXT_PATTERN}' THEN ({text})::numeric * {seconds_per_unit}
        WHEN {text} ~ '{MINUTES_CLOCK_PATTERN}'
            THEN split_part({text}, ':', 1)::numeric * 60 + split_part({text}, ':', 2)::numeric
        WHEN {text} ~ '{HOURS_CLOCK_PATTERN}'
            THEN split_part({text}, ':', 1)::numeric * 3600
                 + split_part({text}, ':', 2)::numeric * 60 + split_part({text}, ':', 3)::numeric
    END)"""


def valid_duration_sql(seconds: str, *, alias: str) -> str:
    """A LATERAL subquery `alias` whose `seconds` are these, parsed once, if they make a valid
    duration (0 to a day), else NULL: absent."""
    return f"""
        CROSS JOIN LATERAL (
            SELECT CASE WHEN parsed.value BETWEEN 0 AND {MAX_EXPLICIT_DURATION_SECONDS}
                        THEN parsed.value END AS seconds
            FROM (SELECT {seconds} AS value) AS parsed
        ) AS {alias}"""


class QueryParameters:
    """The $n parameters of one statement; $1 is always the project id."""

    def __init__(self, project_id: object) -> None:
        self.values: list[object] = [project_id]

    def add(self, value: object) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


class VocabularySql:
    """A project's mapping as SQL, for the one statement whose parameters it adds to."""

    def __init__(self, mapping: EventMapping, parameters: QueryParameters) -> None:
        self._rules = mapping.rules_by_source
        self._parameters = parameters
        self._type_parameters: dict[str, str] = {}
        self._values: dict[tuple[str, str], str] = {}

    def raw_types(self, *kinds: str) -> list[str]:
        """The stored event types that count as any of these vocabulary types."""
        mapped = [source for source, rule in self._rules.items() if rule.target_type in kinds]
        return sorted({*kinds, *mapped})

    def type_filter(self, alias: str, *kinds: str) -> str:
        """A condition on `alias`.event_type: the event counts as one of `kinds`. Position
        samples are ruled out in so many words when they are not asked for, so that the
        index of the other events (which leaves them out) can serve the query."""
        condition = f"{alias}.event_type = ANY({self._parameters.add(self.raw_types(*kinds))})"
        if "position" not in kinds:
            condition += f" AND {alias}.event_type <> 'position'"
        return f"({condition})"

    def kind(self, alias: str) -> str:
        """The vocabulary type `alias` counts as (its own type when no rule maps it)."""
        whens = [
            f"WHEN {self._type(source)} THEN '{rule.target_type}'"
            for source, rule in self._rules.items()
        ]
        if not whens:
            return f"{alias}.event_type"
        return f"(CASE {alias}.event_type {' '.join(whens)} ELSE {alias}.event_type END)"

    def value(self, alias: str, field: str) -> str:
        """The jsonb value of vocabulary field `field` of `alias`: where its type's rule says,
        else under the field's own key."""
        if (alias, field) not in self._values:
            self._values[(alias, field)] = self._value(alias, field)
        return self._values[(alias, field)]

    def _value(self, alias: str, field: str) -> str:
        default = f"{alias}.event_data -> '{_vocabulary_field(field)}'"
        whens = [
            f"WHEN {self._type(rule.source_type)} THEN "
            f"{alias}.event_data #> {self._parameters.add(list(rule.fields[field].path))}::text[]"
            for rule in self._rules_with(field)
        ]
        if not whens:
            return default
        return f"(CASE {alias}.event_type {' '.join(whens)} ELSE {default} END)"

    def moves(self, *fields: str) -> bool:
        """Whether some rule reads any of these fields from elsewhere than its own key."""
        return any(self._rules_with(field) for field in fields)

    def name(self, alias: str, field: str) -> str:
        return name_sql(self.value(alias, field))

    def duration(self, alias: str, *, lateral: str = "duration") -> str:
        """A LATERAL subquery `lateral` whose `seconds` are the valid explicit duration of
        `alias` (NULL when absent), numbers read in the unit its type's rule names."""
        field = "duration"
        whens = [
            f"WHEN {self._type(rule.source_type)} THEN {SECONDS_PER_UNIT[rule.fields[field].unit]}"
            for rule in self._rules_with(field)
            if rule.fields[field].unit != "seconds"
        ]
        per_unit = f"(CASE {alias}.event_type {' '.join(whens)} ELSE 1 END)" if whens else "1"
        seconds = duration_seconds_sql(self.value(alias, field), seconds_per_unit=per_unit)
        return valid_duration_sql(seconds, alias=lateral)

    def _rules_with(self, field: str) -> list[TypeRule]:
        return [rule for rule in self._rules.values() if field in rule.fields]

    def _type(self, source_type: str) -> str:
        if source_type not in self._type_parameters:
            self._type_parameters[source_type] = f"{self._parameters.add(source_type)}::text"
        return self._type_parameters[source_type]


def _vocabulary_field(field: str) -> str:
    """A field name of the vocabulary, checked: it is written into the SQL text."""
    if not any(field in fields for fields in VOCABULARY.values()):
        raise ValueError(f"{field!r} is no field of the vocabulary")
    return field
