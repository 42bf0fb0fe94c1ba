"""Stage 6c: the GII chapter's cross-cluster tables and findings, from the ranked list.

- Table 5: the top cluster of each economy or cross-border region (the cluster's
  ``economies`` label, e.g. ``SG/MY``) among the top list, with its leaders.
- Table 6: economies with at least three top-list clusters (a cross-border cluster
  counts for each economy it lists).
- Table 7: economies present only in the extended list, with their clusters.
- Table 8: the regional ranking's clusters per economy (``regional_table``).
- Table 9: the top list's clusters ranked by S&T intensity (score per million
  inhabitants of the footprint).
- Findings: world shares of the top two and top ten clusters, counts per list.
Rank change, growth and newcomers appear when the run compared a previous edition.
"""

from __future__ import annotations

import pandas as pd

from stclusters.measure.income import INCOME_SOURCE, income_growth

__all__ = ["add_intensity", "chapter_tables", "findings", "regional_table"]


def _economy_rows(clusters: pd.DataFrame) -> pd.DataFrame:
    """One row per (cluster, economy it lists)."""
    rows = clusters.assign(cc=clusters["economies"].str.split("/")).explode("cc")
    return rows[rows["cc"].notna() & (rows["cc"] != "??")]


def add_intensity(clusters: pd.DataFrame) -> pd.DataFrame:
    """S&T intensity (score per million inhabitants) and outputs per million inhabitants."""
    per_million = clusters["population"].where(clusters["population"] > 0) / 1e6
    return clusters.assign(
        intensity=clusters["score"] / per_million,
        patents_per_million=clusters["patents"] / per_million,
        articles_per_million=clusters["articles"] / per_million,
    )


def chapter_tables(clusters: pd.DataFrame, country_names: dict[str, str],
                   *, min_clusters: int = 3, intensity_top: int = 25) -> dict[str, pd.DataFrame]:
    """Tables 5, 6, 7 and 9 as DataFrames keyed by their output file stem."""
    top = clusters[clusters["list"] == "top"]
    cols = ["rank", "name", "economies", "top_applicant", "top_organisation"]
    if "rank_change" in clusters:
        cols.insert(3, "rank_change")
    table5 = (top.sort_values("rank").drop_duplicates("economies")[cols]
              .rename(columns={"economies": "economy"}).reset_index(drop=True))

    per_economy = _economy_rows(top).groupby("cc").size().rename("top_clusters")
    table6 = per_economy[per_economy >= min_clusters].reset_index()
    table6 = table6.rename(columns={"cc": "economy"})
    table6.insert(1, "economy_name", table6["economy"].map(country_names).fillna(""))
    table6 = table6.sort_values(["top_clusters", "economy"], ascending=[False, True],
                                kind="stable").reset_index(drop=True)

    extended = _economy_rows(clusters[clusters["list"] == "extended"])
    in_top = set(_economy_rows(top)["cc"])
    only = extended[~extended["cc"].isin(in_top)].sort_values("rank", kind="stable")
    table7 = (only.groupby("cc", sort=True)
              .agg(clusters_beyond_top=("name", "size"),
                   cluster_names=("name", lambda s: " and ".join(s) if len(s) <= 2
                                  else ", ".join(s.iloc[:-1]) + " and " + s.iloc[-1]))
              .reset_index().rename(columns={"cc": "economy"}))
    table7.insert(1, "economy_name", table7["economy"].map(country_names).fillna(""))
    table7 = table7.sort_values(["clusters_beyond_top", "economy"], ascending=[False, True],
                                kind="stable").reset_index(drop=True)
    tables = {"table5_top_cluster_per_economy": table5, "table6_economies_3plus": table6,
              "table7_extended_only": table7}
    if "intensity" in clusters:
        ranked = top[top["intensity"].notna()].sort_values(["intensity", "rank"],
                                                           ascending=[False, True],
                                                           kind="stable")
        table9 = ranked.head(intensity_top)[
            ["name", "economies", "rank", "intensity", "population", "patents_per_million",
             "articles_per_million", "top_applicant", "top_organisation"]].rename(
            columns={"economies": "economy"})
        table9.insert(0, "rank_intensity", range(1, len(table9) + 1))
        tables["table9_top_intensity"] = table9.reset_index(drop=True)
    return tables


def regional_table(regional: pd.DataFrame, country_names: dict[str, str]) -> pd.DataFrame:
    """GII Table 8: regional clusters per economy (a cross-border cluster counts for each)."""
    rows = _economy_rows(regional.sort_values("rank"))
    table = (rows.groupby("cc", sort=True)
             .agg(cluster_count=("name", "size"), cluster_names=("name", ", ".join))
             .reset_index().rename(columns={"cc": "economy"}))
    table.insert(1, "economy_name", table["economy"].map(country_names).fillna(""))
    return table.sort_values(["cluster_count", "economy"], ascending=[False, True],
                             kind="stable").reset_index(drop=True)


def findings(clusters: pd.DataFrame, world: dict[str, float],
             fields: pd.DataFrame | None = None) -> dict:
    """Headline figures of the chapter (field findings when field shares are given)."""
    ranked = clusters.sort_values("rank")
    top = ranked[ranked["list"] == "top"]
    per_economy = _economy_rows(top).groupby("cc").size().sort_values(ascending=False)
    out = {
        "clusters": {"top": len(top), "extended": int((ranked["list"] == "extended").sum())},
        "world_totals": world,
        "top_two": {"names": ranked["name"].head(2).tolist(),
                    "patent_share": float(ranked["patent_share"].head(2).sum()),
                    "article_share": float(ranked["article_share"].head(2).sum())},
        "top_ten": {"patent_share": float(ranked["patent_share"].head(10).sum()),
                    "article_share": float(ranked["article_share"].head(10).sum())},
        "top_list": {"patent_share": float(top["patent_share"].sum()),
                     "article_share": float(top["article_share"].sum())},
        "top_list_clusters_per_economy": {str(k): int(v) for k, v in per_economy.items()},
    }
    if fields is not None and not fields.empty:
        in_top = fields[fields["rank"].isin(top["rank"])]
        totals = in_top.groupby(["field_number", "field"])["patents"].sum().sort_values(
            ascending=False)
        shares = totals / totals.sum()
        half = shares[(shares.cumsum() - shares) < 0.5]
        out["fields_making_half_of_top_list_patents"] = [
            {"field": f, "share": float(v)} for (_, f), v in half.items()]
        ee = top[top["electrical_engineering_share"].fillna(0) >= 0.5].sort_values(
            "electrical_engineering_share", ascending=False)
        out["electrical_engineering_dominated"] = [
            {"name": n, "rank": int(r), "share": float(v)} for n, r, v in
            zip(ee["name"], ee["rank"], ee["electrical_engineering_share"], strict=True)]
    if "growth" in ranked:
        fastest = top[top["growth"].notna()].sort_values(["growth", "rank"],
                                                         ascending=[False, True]).head(5)
        out["fastest_growing"] = [{"name": n, "rank": int(r), "growth": float(g)} for n, r, g in
                                  zip(fastest["name"], fastest["rank"], fastest["growth"],
                                      strict=True)]
        out["newcomers_to_top"] = top.loc[top["newcomer"], "name"].tolist()
        out["top_list_growth"] = {"clusters_growing": int((top["growth"] > 0).sum()),
                                  "clusters_shrinking": int((top["growth"] < 0).sum())}
        out["top_list_growth_by_income"] = {"source": INCOME_SOURCE,
                                            **income_growth(clusters)}
    return out
