"""Synthetic landing-zone data with planted, known structure.

Writes the four landing sources (customers and orders as CSV, the two event streams
as Parquet, as real exports usually come) plus a ground-truth folder that tests
compare the warehouse against: each customer's persona and churn, the identity of
anonymous browsers, and the exact file and row of every bad row injected, with the
reason code staging must give it.

Customers are generated in chunks with one random generator per chunk (seeded from
the seed and the chunk number), so output is deterministic for a seed and memory is
bounded by the chunk size whatever the total.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .contract import SOURCES

NS_DAY = 86_400 * 10**9
NS_MIN = 60 * 10**9
CATEGORIES = np.array(["home", "fashion", "electronics", "beauty", "sports", "toys"])
TZ_OFFSETS_MIN = np.array([0, 60, -300, 120, -480, 330])  # how trackers render local time
MPP_AGENT = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 " \
            "(KHTML, like Gecko)"
HUMAN_AGENTS = np.array([
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36",
])


@dataclass(frozen=True)
class Persona:
    name: str
    share: float
    orders_per_year: float
    basket_mean: float
    coupon_rate: float
    open_rate: float
    click_rate: float  # given an open
    sessions_per_year: float
    cart_rate: float  # browse sessions with an add_to_cart
    category: str
    send_hour: int  # UTC hour the customer reads email
    churn_prob: float  # chance to churn within a year (constant hazard)
    unsubscribe_prob: float


PERSONAS: tuple[Persona, ...] = (
    Persona("loyal_high_value", .15, 14.0, 110.0, .05, .65, .40, 12, .30, "home", 7, .06, .02),
    Persona("bargain_hunter", .20, 6.0, 35.0, .75, .45, .25, 8, .35, "fashion", 20, .20, .05),
    Persona("window_shopper", .20, .5, 55.0, .10, .25, .10, 15, .45, "electronics", 22, .30, .05),
    Persona("occasional", .30, 2.5, 70.0, .15, .30, .12, 4, .20, "beauty", 12, .30, .05),
    Persona("disengaged", .15, .6, 50.0, .10, .03, .05, 1, .10, "sports", 17, .60, .25),
)


@dataclass
class GenerateConfig:
    customers: int = 2_000
    days: int = 365
    seed: int = 42
    end_date: str = "2026-09-30"  # last day of data (fixed so a seed always gives the same data)
    bad_rate: float = 0.01  # share of extra bad rows injected per source
    duplicate_rate: float = 0.005  # share of exact duplicate rows (at-least-once delivery)
    chunk_size: int = 20_000
    campaign_every_days: int = 7
    campaign_reach: float = 0.5
    privacy_proxy_share: float = 0.12
    anonymous_share: float = 0.3  # customers who browse anonymously before identifying
    consent_share: float = 0.85
    churn_decay_days: int = 60  # activity halves this long before churn


def _fmt_ts(ns: np.ndarray, offset_min: np.ndarray | None = None) -> pa.Array:
    """ISO-8601 strings to the second; with offsets, in that local time with +hh:mm."""
    if offset_min is None:
        ts = pa.array((ns // 10**9).astype("datetime64[s]"), type=pa.timestamp("s"))
        return pc.strftime(ts, format="%Y-%m-%dT%H:%M:%SZ")
    local = ns // 10**9 + offset_min.astype(np.int64) * 60
    ts = pa.array(local.astype("datetime64[s]"), type=pa.timestamp("s"))
    body = pc.strftime(ts, format="%Y-%m-%dT%H:%M:%S")
    labels = np.array([("Z" if o == 0 else f"{'-' if o < 0 else '+'}{abs(o) // 60:02d}:"
                        f"{abs(o) % 60:02d}") for o in TZ_OFFSETS_MIN], dtype=object)
    order = np.argsort(TZ_OFFSETS_MIN)
    suffix = labels[order][np.searchsorted(TZ_OFFSETS_MIN[order], offset_min)]
    return pc.binary_join_element_wise(body, pa.array(suffix, pa.string()), "")


def _ids(prefix: str, start: int, n: int) -> np.ndarray:
    """Zero-padded string ids as a numpy object array (built in Arrow: fast at scale)."""
    nums = pc.cast(pa.array(np.arange(start, start + n, dtype=np.int64)), pa.string())
    padded = pc.utf8_lpad(nums, 9, padding="0")
    return pc.binary_join_element_wise(prefix, padded, "").to_numpy(zero_copy_only=False)


def _concat(*parts) -> np.ndarray:
    """Element-wise string concatenation of arrays/scalars, via Arrow."""
    arrs = [p if isinstance(p, str) else pa.array(np.asarray(p, dtype=object), pa.string())
            for p in parts]
    return pc.binary_join_element_wise(*arrs, "").to_numpy(zero_copy_only=False)


class _Chunk:
    """Everything generated for one chunk of customers."""

    def __init__(self, cfg: GenerateConfig, index: int, first: int, n: int,
                 campaigns_ns: np.ndarray):
        self.cfg = cfg
        self.rng = np.random.default_rng([cfg.seed, index])
        self.index = index
        self.first = first
        self.n = n
        self.campaigns_ns = campaigns_ns
        end = np.datetime64(cfg.end_date) + np.timedelta64(1, "D")
        self.end_ns = end.astype("datetime64[ns]").astype(np.int64)
        self.start_ns = self.end_ns - cfg.days * NS_DAY
        self.truth: dict[str, np.ndarray] = {}
        self.tables: dict[str, pa.Table] = {}

    # -- customers -----------------------------------------------------------------
    def customers(self) -> None:
        rng, n, cfg = self.rng, self.n, self.cfg
        shares = np.array([p.share for p in PERSONAS])
        persona = rng.choice(len(PERSONAS), size=n, p=shares / shares.sum())
        span = (cfg.days + 730) * NS_DAY
        signup = self.end_ns - 1 - (rng.random(n) * span).astype(np.int64)
        # churn: a constant hazard (memoryless) from the window start, churn_prob being
        # the chance to churn within a year; a constant hazard keeps the relation of
        # features to churn the same over time, as a stable business has it
        churn_prob = np.array([p.churn_prob for p in PERSONAS])[persona]
        hazard_per_ns = -np.log1p(-churn_prob) / (365 * NS_DAY)
        lo = np.maximum(signup, self.start_ns)
        wait = np.minimum(rng.exponential(1.0, n) / hazard_per_ns, 50 * 365 * NS_DAY)
        churn_at = lo + wait.astype(np.int64)
        churns = churn_at < self.end_ns
        consent = rng.random(n) < cfg.consent_share
        unsub_p = np.array([p.unsubscribe_prob for p in PERSONAS])[persona]
        unsub = consent & (rng.random(n) < unsub_p)
        unsub_lo = np.maximum(signup, self.start_ns)
        unsub_at = np.where(unsub, unsub_lo + (rng.random(n) * (self.end_ns - unsub_lo))
                            .astype(np.int64), np.iinfo(np.int64).max)
        ids = _ids("C", self.first, n)
        anon = _ids("A", self.first, n)
        anon_until = np.where(rng.random(n) < cfg.anonymous_share,
                              self.start_ns + (rng.random(n) * (self.end_ns - self.start_ns))
                              .astype(np.int64), signup)
        mpp = rng.random(n) < cfg.privacy_proxy_share
        tz = rng.choice(TZ_OFFSETS_MIN, size=n)
        self.truth.update(
            customer_id=ids, persona=persona, signup_ns=signup, churns=churns,
            churn_ns=churn_at, consent=consent, unsub_ns=unsub_at, anonymous_id=anon,
            identified_ns=anon_until, privacy_proxy=mpp, tz=tz,
        )
        first_names = np.array(["Ada", "Ben", "Chloe", "Dev", "Ema", "Finn", "Gia", "Hugo",
                                "Iris", "Jon", "Kai", "Lena", "Mo", "Nia", "Omar", "Pia"])
        cities = np.array(["London", "Berlin", "Paris", "Madrid", "Dublin", "Milan"])
        countries = np.array(["GB", "DE", "FR", "ES", "IE", "IT"])
        city_idx = rng.integers(0, len(cities), n)
        birth = (np.datetime64("1960-01-01") + rng.integers(0, 365 * 45, n)
                 .astype("timedelta64[D]")).astype(str)
        consent_str = np.where(consent, rng.choice(["true", "1", "yes"], n), "false")
        updated = np.where(unsub, np.maximum(signup, unsub_at), signup)
        self.tables["customers"] = pa.table({
            "customer_id": ids,
            "email": _concat(np.char.lower(ids.astype(str)), "@example.com"),
            "first_name": first_names[rng.integers(0, len(first_names), n)],
            "signup_at": _fmt_ts(signup),
            "country": countries[city_idx],
            "city": cities[city_idx],
            "birth_date": birth,
            "gender": rng.choice(["f", "m", "x", ""], n, p=[.48, .46, .02, .04]),
            "loyalty_tier": rng.choice(["bronze", "silver", "gold"], n, p=[.7, .2, .1]),
            "email_consent": consent_str,
            "email_consent_at": _fmt_ts(signup),
            "unsubscribed_at": pa.array(np.where(unsub, _fmt_ts(np.minimum(
                unsub_at, self.end_ns - 1)).to_numpy(zero_copy_only=False), None)),
            "updated_at": _fmt_ts(updated),
        })
        # a share of customers changed their city later: a newer version of the row
        moved = np.flatnonzero(rng.random(n) < 0.05)
        if len(moved):
            newer = self.tables["customers"].take(moved)
            newer = newer.set_column(5, "city", pa.array(cities[rng.integers(0, 6, len(moved))]))
            later = np.minimum(updated[moved] + NS_DAY, self.end_ns - 1)
            newer = newer.set_column(12, "updated_at", _fmt_ts(later))
            self.tables["customers"] = pa.concat_tables([self.tables["customers"], newer])
            self.superseded = Counter({"customers": len(moved)})
        else:
            self.superseded = Counter()

    def _activity_factor(self, cust: np.ndarray, t: np.ndarray) -> np.ndarray:
        """1 while active, 0.5 in the decay before churn, 0 after churn."""
        churn = self.truth["churn_ns"][cust]
        decay_from = churn - self.cfg.churn_decay_days * NS_DAY
        return np.where(t >= churn, 0.0, np.where(t >= decay_from, 0.5, 1.0))

    def _poisson_times(self, rate_per_year: np.ndarray, lo: np.ndarray, hi: np.ndarray):
        """Event times for each customer: Poisson counts, uniform in [lo, hi)."""
        years = np.clip(hi - lo, 0, None) / (365 * NS_DAY)
        counts = self.rng.poisson(rate_per_year * years)
        cust = np.repeat(np.arange(self.n), counts)
        t = lo[cust] + (self.rng.random(len(cust)) * (hi - lo)[cust]).astype(np.int64)
        return cust, t

    # -- orders --------------------------------------------------------------------
    def orders(self) -> None:
        rng, tr = self.rng, self.truth
        persona = tr["persona"]
        lo = np.maximum(tr["signup_ns"], self.start_ns)
        rate = np.array([p.orders_per_year for p in PERSONAS])[persona]
        cust, t = self._poisson_times(rate, lo, np.full(self.n, self.end_ns))
        keep = rng.random(len(t)) < self._activity_factor(cust, t)
        cust, t = cust[keep], t[keep]
        order = np.argsort(t, kind="stable")
        cust, t = cust[order], t[order]
        m = len(cust)
        p_idx = persona[cust]
        basket = np.array([p.basket_mean for p in PERSONAS])[p_idx]
        revenue = np.round(rng.lognormal(np.log(basket) - 0.18, 0.6), 2)
        coupon = rng.random(m) < np.array([p.coupon_rate for p in PERSONAS])[p_idx]
        discount = np.where(coupon, np.round(revenue * rng.uniform(.1, .25, m), 2), 0.0)
        pref = np.array([np.flatnonzero(CATEGORIES == p.category)[0] for p in PERSONAS])[p_idx]
        cat = np.where(rng.random(m) < 0.6, pref, rng.integers(0, len(CATEGORIES), m))
        status = rng.choice(["completed", "cancelled", "refunded"], m, p=[.92, .05, .03])
        order_ids = _ids(f"O{self.index:05d}-", 0, m)
        self.truth_orders = (cust, t, status, revenue)
        base = {
            "order_id": order_ids,
            "customer_id": tr["customer_id"][cust],
            "ordered_at": _fmt_ts(t, tr["tz"][cust]),
            "status": np.where(status == "refunded", "completed", status),
            "revenue": pc.cast(pa.array(revenue), pa.string()),
            "discount": pc.cast(pa.array(discount), pa.string()),
            "coupon_code": pa.array(np.where(coupon, rng.choice(["SAVE10", "WELCOME",
                                                                 "FLASH20"], m), None)),
            "item_count": (1 + rng.poisson(basket / 40)).astype(str),
            "category": CATEGORIES[cat],
            "currency": np.full(m, "EUR"),
            "updated_at": _fmt_ts(t),
        }
        table = pa.table(base)
        refunded = np.flatnonzero(status == "refunded")
        if len(refunded):  # refund arrives later as a new version of the order row
            later = table.take(refunded)
            later = later.set_column(3, "status", pa.array(np.full(len(refunded), "refunded")))
            later = later.set_column(10, "updated_at", _fmt_ts(t[refunded] + 7 * NS_DAY))
            table = pa.concat_tables([table, later])
            self.superseded["orders"] += len(refunded)
        self.tables["orders"] = table
        self._order_sessions = (cust, t)

    # -- web events ----------------------------------------------------------------
    def events(self) -> None:
        rng, tr = self.rng, self.truth
        persona = tr["persona"]
        lo = np.maximum(tr["signup_ns"] - 30 * NS_DAY, self.start_ns)
        rate = np.array([p.sessions_per_year for p in PERSONAS])[persona]
        cust, t = self._poisson_times(rate, lo, np.full(self.n, self.end_ns))
        act = self._activity_factor(cust, t)
        keep = rng.random(len(t)) < np.maximum(act, 0.05)  # churned customers rarely visit
        cust, t = cust[keep], t[keep]
        # sessions that lead to the orders: view, add to cart, checkout just before
        o_cust, o_t = self._order_sessions
        s_cust = np.concatenate([cust, o_cust])
        s_t = np.concatenate([t, o_t - 15 * NS_MIN])
        is_order = np.concatenate([np.zeros(len(cust), bool), np.ones(len(o_cust), bool)])
        ns = len(s_cust)
        sess_ids = _ids(f"S{self.index:05d}-", 0, ns)
        p_idx = persona[s_cust]
        n_views = 1 + rng.poisson(1.5, ns)
        cart = is_order | (rng.random(ns) < np.array([p.cart_rate for p in PERSONAS])[p_idx])
        search = rng.random(ns) < 0.3
        pref_c = np.array([np.flatnonzero(CATEGORIES == p.category)[0]
                           for p in PERSONAS])[persona]  # per customer
        # one row per (session, step); steps: page_view, search?, views..., cart?, checkout?
        parts = [("page_view", np.arange(ns), np.zeros(ns, np.int64))]
        parts.append(("search", np.flatnonzero(search), np.full(search.sum(), 1)))
        v_sess = np.repeat(np.arange(ns), n_views)
        v_step = 2 + (np.arange(len(v_sess)) - np.repeat(np.cumsum(n_views) - n_views, n_views))
        parts.append(("product_view", v_sess, v_step))
        c_sess = np.flatnonzero(cart)
        parts.append(("add_to_cart", c_sess, 2 + n_views[c_sess]))
        k_sess = np.flatnonzero(is_order)
        parts.append(("checkout_started", k_sess, 3 + n_views[k_sess]))
        etype = np.concatenate([np.full(len(s), name) for name, s, _ in parts])
        sess = np.concatenate([s for _, s, _ in parts])
        step = np.concatenate([st for _, _, st in parts]).astype(np.int64)
        et = s_t[sess] + step * NS_MIN + rng.integers(0, 50, len(sess)) * 10**9
        ec = s_cust[sess]
        anonymous = et < tr["identified_ns"][ec]
        # the first identified session of an anonymous browser starts with identify
        ident = np.flatnonzero(tr["identified_ns"] > np.maximum(tr["signup_ns"], self.start_ns))
        ident = ident[tr["identified_ns"][ident] < self.end_ns]
        etype = np.concatenate([etype, np.full(len(ident), "identify")])
        et = np.concatenate([et, tr["identified_ns"][ident]])
        ec = np.concatenate([ec, ident])
        sess_of = np.concatenate([sess_ids[sess], _ids(f"I{self.index:05d}-", 0, len(ident))])
        anonymous = np.concatenate([anonymous, np.zeros(len(ident), bool)])
        viewing = np.isin(etype, ["product_view", "add_to_cart"])
        cat_pick = np.where(rng.random(len(et)) < 0.6, pref_c[ec],
                            rng.integers(0, len(CATEGORIES), len(et)))
        m = len(et)
        order = np.argsort(et, kind="stable")
        cols = {
            "event_id": _ids(f"E{self.index:05d}-", 0, m),
            "customer_id": np.where(anonymous, None, tr["customer_id"][ec])[order],
            "anonymous_id": tr["anonymous_id"][ec][order],
            "event_type": etype[order],
            "event_at": _fmt_ts(et[order], tr["tz"][ec][order]),
            "product_id": np.where(viewing, _concat("P", rng.integers(1000, 9999, m)
                                                       .astype(str)), None)[order],
            "category": np.where(viewing, CATEGORIES[cat_pick], None)[order],
            "session_id": sess_of[order],
        }
        self.tables["events"] = pa.table({k: pa.array(v) for k, v in cols.items()})

    # -- email events --------------------------------------------------------------
    def email_events(self) -> None:
        rng, tr, cfg = self.rng, self.truth, self.cfg
        camp = self.campaigns_ns
        if len(camp) == 0:
            self.tables["email_events"] = pa.table(
                {c: pa.array([], pa.string()) for c in SOURCES["email_events"].column_names})
            return
        reach = rng.random((self.n, len(camp))) < cfg.campaign_reach
        ok = (reach & tr["consent"][:, None] & (camp[None, :] > tr["signup_ns"][:, None])
              & (camp[None, :] < tr["unsub_ns"][:, None]))
        cust, ci = np.nonzero(ok)
        send_t = camp[ci] + rng.integers(0, 600, len(ci)) * 10**9
        m = len(cust)
        msg = _concat("M", ci.astype(str), "-", tr["customer_id"][cust])
        p_idx = tr["persona"][cust]
        act = self._activity_factor(cust, send_t)
        delivered = rng.random(m) < 0.97
        hard = ~delivered & (rng.random(m) < 0.3)
        open_p = np.array([p.open_rate for p in PERSONAS])[p_idx] * np.where(act > 0, act, 0.05)
        human_open = delivered & (rng.random(m) < open_p)
        hour = np.array([p.send_hour for p in PERSONAS])[p_idx]
        day0 = (send_t // NS_DAY) * NS_DAY
        open_t = day0 + ((hour * 60 + rng.normal(0, 40, m)).astype(np.int64) * NS_MIN)
        open_t = np.where(open_t <= send_t, open_t + NS_DAY, open_t)
        open_t = open_t + rng.integers(0, 2, m) * NS_DAY
        click = human_open & (rng.random(m) < np.array([p.click_rate for p in PERSONAS])[p_idx])
        proxy = delivered & tr["privacy_proxy"][cust]
        complaint = delivered & (rng.random(m) < 0.0005)
        agents = HUMAN_AGENTS[rng.integers(0, len(HUMAN_AGENTS), m)]
        rows = [
            ("sent", np.arange(m), send_t, None, None),
            ("delivered", np.flatnonzero(delivered), send_t[delivered] + 20 * 10**9, None, None),
            ("bounce", np.flatnonzero(~delivered), send_t[~delivered] + 20 * 10**9, None, None),
            ("open", np.flatnonzero(proxy), send_t[proxy] + rng.integers(60, 900, proxy.sum())
             * 10**9, MPP_AGENT, None),
            ("open", np.flatnonzero(human_open), open_t[human_open], "human", None),
            ("click", np.flatnonzero(click), open_t[click] + rng.integers(5, 120, click.sum())
             * 10**9, "human", "link"),
            ("spam_complaint", np.flatnonzero(complaint), send_t[complaint] + NS_DAY, None, None),
        ]
        etype, idx, times, ua, link = [], [], [], [], []
        for name, ix, ts, agent, lk in rows:
            etype.append(np.full(len(ix), name))
            idx.append(ix)
            times.append(ts)
            if agent == "human":
                ua.append(agents[ix])
            else:
                ua.append(np.full(len(ix), agent, dtype=object))
            link.append(np.full(len(ix), None if lk is None else "x", dtype=object))
        etype = np.concatenate(etype)
        idx = np.concatenate(idx)
        times = np.concatenate(times)
        ua = np.concatenate(ua)
        link = np.concatenate(link)
        bounce_type = np.where(etype == "bounce", np.where(hard[idx], "hard", "soft"), None)
        link = np.where(link == "x", _concat("https://shop.example.com/c/",
                                             CATEGORIES[rng.integers(0, 6, len(idx))]), None)
        # unsubscribes: one event at the customer's unsubscribe time
        uns = np.flatnonzero(tr["unsub_ns"] < self.end_ns)
        etype = np.concatenate([etype, np.full(len(uns), "unsubscribe")])
        times = np.concatenate([times, tr["unsub_ns"][uns]])
        ecust = np.concatenate([cust[idx], uns])
        msg_all = np.concatenate([msg[idx], np.full(len(uns), None, dtype=object)])
        camp_all = np.concatenate([_concat("CMP", ci[idx].astype(str)),
                                   np.full(len(uns), None, dtype=object)])
        ua = np.concatenate([ua, np.full(len(uns), None, dtype=object)])
        link = np.concatenate([link, np.full(len(uns), None, dtype=object)])
        bounce_type = np.concatenate([bounce_type, np.full(len(uns), None, dtype=object)])
        keep = times < self.end_ns
        order = np.flatnonzero(keep)[np.argsort(times[keep], kind="stable")]
        k = len(order)
        self.tables["email_events"] = pa.table({
            "email_event_id": pa.array(_ids(f"X{self.index:05d}-", 0, k)),
            "message_id": pa.array(msg_all[order], pa.string()),
            "campaign_id": pa.array(camp_all[order], pa.string()),
            "customer_id": pa.array(tr["customer_id"][ecust][order]),
            "event_type": pa.array(etype[order]),
            "event_at": _fmt_ts(times[order], tr["tz"][ecust][order]),
            "link_url": pa.array(link[order], pa.string()),
            "user_agent": pa.array(ua[order], pa.string()),
            "bounce_type": pa.array(bounce_type[order], pa.string()),
        })

    # -- bad rows ------------------------------------------------------------------
    BAD_KINDS = {
        "customers": ["missing_required_field", "invalid_boolean", "unparseable_timestamp",
                      "duplicate_id_conflict"],
        "orders": ["missing_required_field", "missing_customer_id", "unknown_customer_id",
                   "unparseable_timestamp", "future_timestamp", "non_numeric_amount",
                   "negative_amount", "unknown_status", "duplicate_id_conflict"],
        "events": ["missing_required_field", "missing_identity", "unknown_customer_id",
                   "unknown_event_type", "unparseable_timestamp", "future_timestamp",
                   "duplicate_id_conflict"],
        "email_events": ["missing_required_field", "missing_customer_id", "unknown_customer_id",
                         "unknown_event_type", "unparseable_timestamp", "future_timestamp",
                         "duplicate_id_conflict"],
    }
    TS_COL = {"customers": "signup_at", "orders": "ordered_at", "events": "event_at",
              "email_events": "event_at"}

    def inject(self, source: str) -> list[str | None]:
        """Append bad copies of valid rows and exact duplicates; return each row's reason.

        Bad rows are copies of valid rows with one thing broken and, except for the
        id conflicts, a fresh id: the valid data stays intact, and each bad row has
        exactly one reason, the one staging must give it.
        """
        rng, cfg = self.rng, self.cfg
        table = self.tables[source]
        n = table.num_rows
        if n == 0:
            return []
        contract = SOURCES[source]
        key, ts_col = contract.key, self.TS_COL[source]
        value_required = [c for c in contract.required_columns if c != "customer_id" or c == key]
        n_bad = int(rng.binomial(n, cfg.bad_rate))
        kinds = rng.choice(self.BAD_KINDS[source], n_bad)
        rows = table.take(rng.integers(0, n, n_bad)).to_pylist()
        for j, (row, kind) in enumerate(zip(rows, kinds, strict=True)):
            if kind != "duplicate_id_conflict":
                row[key] = f"{row[key]}-bad{self.index}-{j}"
            if kind == "missing_required_field":
                row[str(rng.choice(value_required))] = None
            elif kind == "missing_customer_id":
                row["customer_id"] = None
            elif kind == "missing_identity":
                row["customer_id"] = None
                row["anonymous_id"] = None
            elif kind == "unknown_customer_id":
                row["customer_id"] = f"UNKNOWN{self.index}-{j}"
            elif kind == "unknown_event_type":
                row["event_type"] = str(rng.choice(["page_vue", "purchase!", "OPEN_"]))
            elif kind == "unknown_status":
                row["status"] = str(rng.choice(["shipped??", "pending_review"]))
            elif kind == "unparseable_timestamp":
                row[ts_col] = str(rng.choice(["31/02/2024 25:61", "yesterday",
                                              "2024-13-45T99:00"]))
            elif kind == "future_timestamp":
                day = datetime(2031, 1, 1) + timedelta(days=int(rng.integers(0, 3000)))
                row[ts_col] = day.strftime("%Y-%m-%dT%H:%M:%SZ")
            elif kind == "non_numeric_amount":
                row["revenue"] = str(rng.choice(["12,50 EUR", "n/a", "1.2.3"]))
            elif kind == "negative_amount":
                row["revenue"] = f"-{row['revenue']}"
            elif kind == "invalid_boolean":
                row["email_consent"] = str(rng.choice(["maybe", "2", "opt"]))
            elif kind == "duplicate_id_conflict":
                changed = {"customers": "email", "orders": "coupon_code",
                           "events": "session_id", "email_events": "campaign_id"}[source]
                row[changed] = f"conflict-{self.index}-{j}"
        parts = [table]
        reasons: list[str | None] = [None] * n
        if n_bad:
            parts.append(pa.Table.from_pylist(rows, schema=table.schema))
            reasons += [str(k) for k in kinds]
        n_dup = int(rng.binomial(n, cfg.duplicate_rate)) if source != "customers" else 0
        if n_dup:
            parts.append(table.take(rng.integers(0, n, n_dup)))
            reasons += ["exact_duplicate"] * n_dup
        self.tables[source] = pa.concat_tables(parts)
        return reasons


def campaign_times(cfg: GenerateConfig) -> np.ndarray:
    end = np.datetime64(cfg.end_date) + np.timedelta64(1, "D")
    end_ns = end.astype("datetime64[ns]").astype(np.int64)
    start_ns = end_ns - cfg.days * NS_DAY
    first = start_ns + 10 * 3600 * 10**9  # campaigns go out at 10:00 UTC
    return np.arange(first, end_ns, cfg.campaign_every_days * NS_DAY, dtype=np.int64)


def _truth_frame(chunk: _Chunk) -> pa.Table:
    tr = chunk.truth
    never = np.iinfo(np.int64).max

    def ts(ns: np.ndarray) -> pa.Array:
        us = np.where(ns == never, np.datetime64("NaT"), (ns // 1000).astype("datetime64[us]"))
        return pa.array(us, pa.timestamp("us"))

    persona = np.array([p.name for p in PERSONAS])[tr["persona"]]
    return pa.table({
        "customer_id": tr["customer_id"],
        "persona": persona,
        "preferred_category": np.array([p.category for p in PERSONAS])[tr["persona"]],
        "preferred_send_hour": np.array([p.send_hour for p in PERSONAS])[tr["persona"]],
        "signup_at": ts(tr["signup_ns"]),
        "churns": tr["churns"],
        "churn_at": ts(tr["churn_ns"]),
        "email_consent": tr["consent"],
        "unsubscribed_at": ts(np.where(tr["unsub_ns"] < chunk.end_ns, tr["unsub_ns"], never)),
        "anonymous_id": tr["anonymous_id"],
        "identified_at": ts(tr["identified_ns"]),
        "is_privacy_proxy": tr["privacy_proxy"],
        "utc_offset_minutes": tr["tz"],
    })


def _append_malformed(chunk: _Chunk, source: str, path: Path) -> int:
    """Append CSV lines with one field more than the header (malformed rows)."""
    table = chunk.tables[source]
    kinds = len(chunk.BAD_KINDS[source]) + 1
    n = int(chunk.rng.binomial(table.num_rows, chunk.cfg.bad_rate / kinds))
    if n == 0:
        return 0
    rows = table.take(chunk.rng.integers(0, table.num_rows, n))
    key = SOURCES[source].key
    ids = pc.binary_join_element_wise(pc.cast(rows[key], pa.string()),
                                      f"-malformed{chunk.index}-", "")
    ids = pc.binary_join_element_wise(ids, pc.cast(pa.array(np.arange(n)), pa.string()), "")
    rows = rows.set_column(rows.schema.get_field_index(key), key, ids)
    buf = pa.BufferOutputStream()
    pacsv.write_csv(rows, buf, write_options=pacsv.WriteOptions(include_header=False))
    lines = buf.getvalue().to_pybytes().decode().splitlines()
    with path.open("a") as fh:
        for line in lines:
            fh.write(line + ',"unexpected extra field"\n')
    return n


def _write(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path, compression="zstd")


FILE_FORMAT = {"customers": "csv", "orders": "csv", "events": "parquet",
               "email_events": "parquet"}


def generate(cfg: GenerateConfig, landing_dir: Path, truth_dir: Path,
             progress: bool = True) -> dict:
    """Write the landing zone and the ground truth; return the summary (also saved)."""
    landing_dir, truth_dir = Path(landing_dir), Path(truth_dir)
    for folder in [*(landing_dir / s for s in SOURCES), truth_dir]:
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    camp = campaign_times(cfg)
    n_chunks = max(1, -(-cfg.customers // cfg.chunk_size))
    counts: dict[str, Counter] = {s: Counter() for s in SOURCES}
    superseded: Counter = Counter()
    truth_writer = bad_writer = None
    chunks = range(n_chunks)
    if progress:
        from tqdm import tqdm
        chunks = tqdm(chunks, desc="generating", unit="chunk")
    for i in chunks:
        first = i * cfg.chunk_size
        n = min(cfg.chunk_size, cfg.customers - first)
        chunk = _Chunk(cfg, i, first, n, camp)
        chunk.customers()
        chunk.orders()
        chunk.events()
        chunk.email_events()
        superseded.update(chunk.superseded)
        bad = []
        for source in SOURCES:
            reasons = chunk.inject(source)
            fname = f"{source}/part-{i:05d}.{FILE_FORMAT[source]}"
            _write(chunk.tables[source], landing_dir / fname)
            if FILE_FORMAT[source] == "csv":
                reasons += ["malformed_row"] * _append_malformed(
                    chunk, source, landing_dir / fname)
            counts[source]["rows"] += len(reasons)
            for row, reason in enumerate(reasons, start=1):
                if reason is not None:
                    counts[source][reason] += 1
                    bad.append((source, fname, row, reason))
        truth = _truth_frame(chunk)
        bad_table = pa.table({
            "source": pa.array([b[0] for b in bad], pa.string()),
            "source_file": pa.array([b[1] for b in bad], pa.string()),
            "source_row": pa.array([b[2] for b in bad], pa.int64()),
            "reason_code": pa.array([b[3] for b in bad], pa.string()),
        })
        if truth_writer is None:
            truth_writer = pq.ParquetWriter(truth_dir / "customers.parquet", truth.schema)
            bad_writer = pq.ParquetWriter(truth_dir / "bad_rows.parquet", bad_table.schema)
        truth_writer.write_table(truth)
        bad_writer.write_table(bad_table)
    truth_writer.close()
    bad_writer.close()
    summary = {
        "config": asdict(cfg),
        "personas": [asdict(p) for p in PERSONAS],
        "campaigns": len(camp),
        "rows": {s: dict(c) for s, c in counts.items()},
        "superseded_versions": dict(superseded),
    }
    (truth_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary
