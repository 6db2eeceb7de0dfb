"""The voluntary-fix rate in /metrics, counted from the store at scrape time (whoever wrote the cases).

Per street of the register (`unregistered` for shops off it or without a street):

- `frontage_cases_confirmed_total{street}`: confirmed cases whose outcome is settled (fixed, escalated or
  closed). A case still open may yet be dismissed as a false positive, so it is counted once settled: the
  counter never goes down, and Prometheus' increase() over it is right.
- `frontage_cases_fixed_voluntarily_total{street}`: confirmed cases resolved before any escalation (resolved
  is final, so this never goes down either).
- `frontage_cases_confirmed_open{street}` (gauge): confirmed cases not settled yet.
- `frontage_voluntary_fix_ratio{street}` (gauge): all time, fixed voluntarily / all confirmed cases (open ones
  included), as GET /stats gives it without a period; `street=""` is the whole district.

The rate for a period (cases settled in it), for the district and for one street:

    sum(increase(frontage_cases_fixed_voluntarily_total[30d])) / sum(increase(frontage_cases_confirmed_total[30d]))
    increase(frontage_cases_fixed_voluntarily_total{street="Nanjing Rd"}[30d])
      / increase(frontage_cases_confirmed_total{street="Nanjing Rd"}[30d])

For a calendar month evaluate at its end with `offset`, or use GET /stats?from=&to= (cases opened in the period,
any shop).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from register.stats import street_tallies


class VoluntaryFixCollector(Collector):
    def __init__(self, engine: Engine):
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        with Session(self.engine) as s:
            tallies = street_tallies(s)
        confirmed = CounterMetricFamily(
            "frontage_cases_confirmed",
            "Confirmed cases whose outcome is settled (fixed, escalated or closed), by street.",
            labels=["street"],
        )
        fixed = CounterMetricFamily(
            "frontage_cases_fixed_voluntarily",
            "Confirmed cases resolved before any escalation, by street.",
            labels=["street"],
        )
        still_open = GaugeMetricFamily(
            "frontage_cases_confirmed_open", "Confirmed cases not settled yet, by street.", labels=["street"]
        )
        ratio = GaugeMetricFamily(
            "frontage_voluntary_fix_ratio",
            "All time: confirmed cases fixed before escalation / all confirmed cases; street=\"\" is the district.",
            labels=["street"],
        )
        total_confirmed = total_fixed = 0
        for street, t in sorted(tallies.items()):
            confirmed.add_metric([street], t.settled)
            fixed.add_metric([street], t.fixed_voluntarily)
            still_open.add_metric([street], t.confirmed - t.settled)
            if t.confirmed:
                ratio.add_metric([street], t.fixed_voluntarily / t.confirmed)
            total_confirmed += t.confirmed
            total_fixed += t.fixed_voluntarily
        if total_confirmed:
            ratio.add_metric([""], total_fixed / total_confirmed)
        yield from (confirmed, fixed, still_open, ratio)
