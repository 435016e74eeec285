"""``SimulationConfig``: scenarios from a YAML or JSON file, all checked before anything is solved.

A config is a mapping::

    name: chat-serving                 # optional
    description: ...                   # optional
    defaults: {precision: fp16}        # optional: merged into every scenario
    scenarios:
      - name: llama8b-h100
        model: Llama3_8B
        hardware: H100                 # or system / node / cluster
        seq_len: 4096
        batch_size: 8
        sla: {ttft: 200 ms, itl: 20, throughput: 300 tokens/s}
        sweep: {grid: [Quebec, Poland]}   # optional: one scenario per value (cartesian product)

Loading checks every key (unknown keys get a "did you mean"), every unit and dimension,
every zoo name and range, then builds each :class:`~mlsyslab.scenarios.Scenario` (which
checks the cross-field rules, e.g. tensor_parallel dividing the heads). **All** problems are
reported together in one :class:`ConfigError` whose ``errors`` list holds each one with its
field path.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from ..errors import ValidationError
from ..inputs import did_you_mean
from ..scenarios import Scenario
from .schema import TOP_LEVEL, FieldError, check_fields


class ConfigError(ValidationError):
    """A config has one or more problems. ``errors``: list of :class:`FieldError` (path, message)."""

    def __init__(self, errors, source: str = "config"):
        self.errors = list(errors)
        self.source = source
        n = len(self.errors)
        head = f"{n} error{'s' if n != 1 else ''} in {source}"
        super().__init__(head + ":\n" + "\n".join(f"  {e}" for e in self.errors),
                         field=self.errors[0].path if self.errors else None, value=None,
                         allowed="see errors")

    def one_line(self) -> str:
        """All errors on one line (for the CLI)."""
        n = len(self.errors)
        return f"{n} error{'s' if n != 1 else ''} in {self.source}: " + " | ".join(map(str, self.errors))


def _load_text(text: str, fmt: str, source: str):
    if fmt == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError([FieldError(f"line {exc.lineno} column {exc.colno}", f"invalid JSON: {exc.msg}")],
                              source) from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else "document"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([FieldError(where, f"invalid YAML: {problem}")], source) from None


def _expand(fields: dict) -> list[dict]:
    """One kwargs dict per point of the sweep's cartesian product (names suffixed with the values)."""
    sweep = fields.pop("sweep", None)
    if not sweep:
        return [fields]
    keys = list(sweep)
    out = []
    for combo in itertools.product(*(sweep[k] for k in keys)):
        f = dict(fields)
        f.update(zip(keys, combo))
        base = f.get("name") or "scenario"
        f["name"] = base + " [" + ", ".join(f"{k}={v}" for k, v in zip(keys, combo)) + "]"
        out.append(f)
    return out


class SimulationConfig:
    """A checked list of scenarios (build with :meth:`from_file` or :meth:`from_dict`)."""

    def __init__(self, scenarios, name: str | None = None, description: str | None = None, source: str = "config"):
        from ..scenarios import Scenario

        if isinstance(scenarios, (str, bytes, dict)) or not hasattr(scenarios, "__iter__"):
            raise ValidationError(f"scenarios={scenarios!r} is not allowed; scenarios must be a list of "
                                  "mlsyslab.Scenario (or load a file with SimulationConfig.from_file).",
                                  field="scenarios", value=scenarios, allowed="a list of Scenario")
        self.scenarios = list(scenarios)
        for i, sc in enumerate(self.scenarios):
            if not isinstance(sc, Scenario):
                raise ValidationError(f"scenarios[{i}]={sc!r} is not allowed (got {type(sc).__name__}); scenarios "
                                      "must be a list of mlsyslab.Scenario.", field=f"scenarios[{i}]", value=sc,
                                      allowed="a Scenario")
        self.name, self.description, self.source = name, description, source

    # ------------------------------------------------------------ loading
    @classmethod
    def from_file(cls, path) -> "SimulationConfig":
        """Load ``.yaml`` / ``.yml`` / ``.json`` (other suffixes: JSON, then YAML)."""
        if not isinstance(path, (str, Path)):
            raise ValidationError(f"path={path!r} is not allowed (got {type(path).__name__}); give the path of a "
                                  ".yaml or .json file.", field="path", value=path, allowed="a str or pathlib.Path")
        p = Path(path)
        if not p.is_file():
            from .. import examples

            shipped = examples.names()
            hint = (f" The package ships example configs ({', '.join(shipped)}): "
                    "mlsyslab.examples.path('serving_sla.yaml'), or on the command line mlsyslab run --example NAME.")
            raise ValidationError(f"config file {str(p)!r} " + ("is not a file." if p.exists() else "does not exist.")
                                  + hint, field="path", value=str(p), allowed="an existing .yaml or .json file")
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError(f"config file {str(p)!r} is not UTF-8 text ({exc.reason} at byte {exc.start}); give "
                                  "a .yaml or .json file.", field="path", value=str(p),
                                  allowed="a UTF-8 .yaml or .json file") from None
        suffix = p.suffix.lower()
        fmt = "json" if suffix == ".json" else "yaml"  # YAML is a superset of JSON
        return cls.from_dict(_load_text(text, fmt, str(p)), source=str(p))

    @classmethod
    def from_string(cls, text: str, fmt: str = "yaml", source: str = "<string>") -> "SimulationConfig":
        if not isinstance(text, str):
            raise ValidationError(f"text={text!r} is not allowed (got {type(text).__name__}); give the YAML or JSON "
                                  "text of a config (a dict goes to SimulationConfig.from_dict).", field="text",
                                  value=text, allowed="a str")
        return cls.from_dict(_load_text(text, fmt, source), source=source)

    @classmethod
    def from_dict(cls, d, source: str = "<dict>") -> "SimulationConfig":
        """Check everything in ``d``; raise one :class:`ConfigError` listing every problem."""
        errors: list[FieldError] = []
        if not isinstance(d, dict):
            raise ConfigError([FieldError("(top level)", "a config must be a mapping with a 'scenarios' list; "
                                                         f"got {type(d).__name__}.")], source)
        for key in d:
            if key not in TOP_LEVEL:
                errors.append(FieldError(str(key), f"unknown top-level key {key!r}.{did_you_mean(str(key), TOP_LEVEL)} "
                                                   f"Known keys: {', '.join(TOP_LEVEL)}."))
        if "version" in d and d["version"] not in (1, "1"):
            errors.append(FieldError("version", f"version={d['version']!r} is not supported; this mlsyslab reads "
                                                "version 1 (or no version key)."))
        defaults = {}
        if "defaults" in d:
            if not isinstance(d["defaults"], dict):
                errors.append(FieldError("defaults", "must be a mapping of scenario fields."))
            else:
                defaults = check_fields(d["defaults"], "defaults", errors, allow_sweep=False)
        raw = d.get("scenarios")
        if raw is None:
            errors.append(FieldError("scenarios", "missing: give a list of scenarios."))
            raw = []
        elif not isinstance(raw, list) or not raw:
            errors.append(FieldError("scenarios", f"must be a non-empty list of scenarios; got {raw!r}."))
            raw = []
        scenarios = []
        for i, item in enumerate(raw):
            path = f"scenarios[{i}]"
            n_before = len(errors)
            fields = check_fields(item, path, errors)
            if not isinstance(item, dict):
                continue
            merged = {**defaults, **fields}
            given_defaults = d.get("defaults") if isinstance(d.get("defaults"), dict) else {}
            for names, label in ((("model", "workload"), "model"), (("hardware", "system", "node", "cluster"), "hardware")):
                if not any(k in item or k in given_defaults for k in names):
                    errors.append(FieldError(f"{path}.{label}", f"missing: every scenario needs a {label} "
                                                                f"(key {' or '.join(names)})."))
            if len(errors) > n_before:
                continue
            merged.setdefault("name", f"scenario {i}")
            for kwargs in _expand(merged):
                try:
                    scenarios.append(Scenario(**kwargs))
                except ValidationError as exc:
                    field = exc.field or "?"
                    err = FieldError(f"{path}.{field}", str(exc))
                    if err not in errors:
                        errors.append(err)
        if errors:
            raise ConfigError(errors, source)
        return cls(scenarios, name=d.get("name"), description=d.get("description"), source=source)

    # ------------------------------------------------------------ running
    def run(self, strict: bool = False) -> list:
        """Evaluate every scenario; a list of :class:`~mlsyslab.scenarios.Scorecard`."""
        cards = []
        for sc in self.scenarios:
            try:
                cards.append(sc.evaluate(strict=strict))
            except ValidationError as exc:
                raise ValidationError(f"scenario {sc.name!r}: {exc}", field=exc.field, value=exc.value,
                                      allowed=exc.allowed) from None
        return cards

    def __len__(self) -> int:
        return len(self.scenarios)

    def __iter__(self):
        return iter(self.scenarios)

    def __repr__(self) -> str:
        return f"<SimulationConfig {self.name or self.source}: {len(self)} scenarios>"


__all__ = ["SimulationConfig", "ConfigError"]
