"""The field differences of linked pairs: one long row per pair and differing field.

Most pairs agree on every field, so the comparison first keeps only pairs with any difference
(cheap typed comparisons over the whole frame) and builds canonical texts and the baseline join
for those alone. A field a payload did not return (unknown, SPEC §5) is never compared.
"""

from __future__ import annotations

import polars as pl

from reconcile.fields import unit_json, unit_text, unit_unknown
from reconcile.frames import ADDRESS_FIELDS
from reconcile.mapping import carried_by

#: Columns of the long difference frame (before the baseline join). Entra's address parts go
#: along on every row: the decision asks them whether Huma takes the address.
DIFF_COLUMNS = (
    "huma_id",
    "entra_id",
    "email_key",
    "field",
    "h",
    "e",
    "h_json",
    "e_json",
    "entra_on_premises",
    *(f"e_{column}" for column in ADDRESS_FIELDS),
)


def _side_by_side(
    pairs: pl.DataFrame, huma_valid: pl.DataFrame, entra_valid: pl.DataFrame
) -> pl.DataFrame:
    """Both users of every pair side by side, but for their unknown-field lists (the costliest
    columns to gather, needed only for the pairs that differ), with their row positions."""
    mapped = [column for unit in carried_by(huma_valid.columns) for column in unit.columns]
    huma = huma_valid.select(
        "active",
        pl.col("email_key").alias("h_email_key"),
        *(pl.col(name).alias(f"h_{name}") for name in mapped),
    )
    entra = entra_valid.select(
        "account_enabled",
        pl.col("on_premises_sync_enabled").fill_null(value=False).alias("entra_on_premises"),
        pl.col("email_key").alias("e_email_key"),
        *(pl.col(name).alias(f"e_{name}") for name in mapped),
    )
    # Gathers by the positions matching found (the inner joins on the ids), in Huma's order: when
    # every valid Huma user is paired (the usual night) its side needs no gather at all.
    by_huma = pairs.sort("hi")
    hi = by_huma.get_column("hi")
    everyone = hi.len() == huma.height and hi.equals(
        pl.int_range(hi.len(), dtype=pl.UInt32, eager=True), check_names=False
    )
    # (Gathers by position from one chunk: from many, each costs several times as much.)
    return pl.concat(
        [by_huma, huma if everyone else huma.rechunk()[hi], entra[by_huma.get_column("ei")]],
        how="horizontal",
    )


def _differs(unit_columns: tuple[str, ...]) -> pl.Expr:
    return pl.any_horizontal(pl.col(f"h_{c}").ne_missing(pl.col(f"e_{c}")) for c in unit_columns)


def differing_pairs(
    pairs: pl.DataFrame, huma_valid: pl.DataFrame, entra_valid: pl.DataFrame
) -> pl.DataFrame:
    """Both users of the pairs that need a look, side by side: a differing field or email key, a
    deactivated Huma user (locked) or a disabled Entra user (reported).

    Args:
        pairs: `huma_id`, `entra_id` of present, valid pairs, and `hi`, `ei`: their users' row
            positions in `huma_valid` and `entra_valid` (`Matching.pairs`).
        huma_valid: Valid Huma users.
        entra_valid: Valid in-scope Entra users.

    Returns:
        `huma_id`, `entra_id`, `active`, `account_enabled`, `entra_on_premises`, `h_email_key`,
        `e_email_key`, `h_<field>`, `e_<field>` (Huma columns prefixed `h_`, Entra ones `e_`),
        `h_unknown`, `e_unknown`, in the order of the valid Huma users.
    """
    units = carried_by(huma_valid.columns)
    any_field = pl.any_horizontal(_differs(unit.columns) for unit in units)
    email = pl.col("h_email_key").ne_missing(pl.col("e_email_key"))
    lifecycle = ~pl.col("active") | ~pl.col("account_enabled").fill_null(value=True)
    kept = _side_by_side(pairs, huma_valid, entra_valid).filter(any_field | email | lifecycle)
    unknown = "unknown_fields"
    return kept.with_columns(
        h_unknown=huma_valid.get_column(unknown).gather(kept.get_column("hi")),
        e_unknown=entra_valid.get_column(unknown).gather(kept.get_column("ei")),
    ).select(
        "huma_id",
        "entra_id",
        "active",
        pl.col("^h_.*$").exclude("h_unknown"),
        "h_unknown",
        "account_enabled",
        "entra_on_premises",
        pl.col("^e_.*$").exclude("e_unknown"),
        "e_unknown",
    )


def field_differences(differing: pl.DataFrame) -> pl.DataFrame:
    """One row per differing pair and field whose value both payloads returned.

    Args:
        differing: Output of `differing_pairs`.

    Returns:
        `DIFF_COLUMNS`: canonical texts `h`/`e`, their JSON literals, whether the Entra user is
        synchronised from on-premises AD, and Entra's address parts (`e_address_*`).
    """
    parts = []
    for unit in carried_by(c.removeprefix("h_") for c in differing.columns):
        known = ~unit_unknown(unit, "h_unknown") & ~unit_unknown(unit, "e_unknown")
        rows = differing.lazy().filter(_differs(unit.columns) & known)
        parts.append(
            rows.select(
                "huma_id",
                "entra_id",
                pl.col("h_email_key").alias("email_key"),
                pl.lit(unit.name).alias("field"),
                unit_text(unit, "h_").alias("h"),
                unit_text(unit, "e_").alias("e"),
                "entra_on_premises",
                *(f"e_{column}" for column in ADDRESS_FIELDS),
            ).with_columns(
                unit_json(unit.name, pl.col("h")).alias("h_json"),
                unit_json(unit.name, pl.col("e")).alias("e_json"),
            )
        )
    return pl.concat(parts).select(DIFF_COLUMNS).collect()


def email_mismatches(differing: pl.DataFrame) -> pl.DataFrame:
    """Linked pairs whose email keys differ: `huma_id`, `entra_id`, `h`, `e` (the two keys)."""
    return differing.filter(pl.col("h_email_key").ne_missing(pl.col("e_email_key"))).select(
        "huma_id",
        "entra_id",
        pl.col("h_email_key").alias("email_key"),
        pl.col("h_email_key").alias("h"),
        pl.col("e_email_key").alias("e"),
    )


def with_baseline(diffs: pl.DataFrame, baseline: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Attach each difference's kept baseline row (B and the last-seen values).

    Args:
        diffs: Output of `field_differences`.
        baseline: The kept baseline (`BASELINE_SCHEMA`), eager or lazy.

    Returns:
        `diffs` plus `has_row`, `has_agreed` (never null), `agreed`, `huma_seen`.
    """
    # Only the (few) differing fields' rows of the (large) baseline are read, and of them only
    # the columns the decision reads: the wanted rows are spread over every page of a scanned
    # file, so each column read is decoded whole (a fourth of the lookup for `entra_seen`).
    # A first cut on both key columns' 64-bit hashes, pushed into a lazy scan (it reads and
    # filters row group by row group: the whole baseline is never loaded); the left join on the
    # strings is then the exact test, a stray row that only shares a hash joining nothing.
    key_hash = pl.col("huma_id").hash() ^ pl.col("field").hash()
    rows = (
        baseline.lazy()
        .select("huma_id", "field", "has_agreed", "agreed", "huma_seen")
        .filter(key_hash.is_in(diffs.select(key_hash).to_series().implode()))
        .collect()
    )
    return diffs.join(
        rows.select(
            "huma_id",
            "field",
            pl.lit(value=True).alias("has_row"),
            "has_agreed",
            "agreed",
            "huma_seen",
        ),
        on=["huma_id", "field"],
        how="left",
    ).with_columns(
        pl.col("has_row").fill_null(value=False),
        pl.col("has_agreed").fill_null(value=False),
    )


def with_link_age(
    diffs: pl.DataFrame, links: pl.DataFrame, activation: pl.DataFrame
) -> pl.DataFrame:
    """Mark the differences of pairs that are new to the connection (SPEC §5).

    A pair linked after the connection's activation run (a new hire matched to an existing Entra
    account, a user created later) was not there when Huma's values were recorded as seen: its
    position values are pushed like any later change.

    Args:
        diffs: Differences of linked pairs (`huma_id`, `entra_id`).
        links: Every link after matching (`LINKS_SCHEMA`).
        activation: The connection's activation (`ACTIVATION_SCHEMA`; empty before it).

    Returns:
        `diffs` plus `new_pair` (never null): linked after the activation.
    """
    if activation.height == 0:
        return diffs.with_columns(new_pair=pl.lit(value=False))
    activated_at = activation.get_column("activated_at").min()
    # Only the links made after the activation are joined: a handful, where joining every link
    # on both id strings cost a third of a second at a million users. The others are not new.
    linked = links.filter(pl.col("linked_at") > activated_at).select(
        "huma_id", "entra_id", pl.lit(value=True).alias("new_pair")
    )
    return diffs.join(linked, on=["huma_id", "entra_id"], how="left").with_columns(
        pl.col("new_pair").fill_null(value=False)
    )
