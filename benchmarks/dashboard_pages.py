"""Dashboard page latency: the budget is a page's HTML in at most 300 ms on the demo's data.

Runs against a server that holds a demo's data (``retailor demo --exit`` then
``retailor serve --data demo-data``, or the running ``make demo``): logs in with a view
key through the login form, then times ``GET`` of each dashboard page for each period of
the picker, as a browser would ask for it (cookie and all, HTML only: static files are
cached for a year). Each figure is the median and the worst of ``--repeat`` requests after
one warm-up request, with the median's ratio to the 300 ms ceiling; the page's size too.

    python benchmarks/dashboard_pages.py --url http://127.0.0.1:8642 --key rk_view_…
"""

from __future__ import annotations

import argparse
import re
import statistics
import time

import httpx

CEILING_SECONDS = 0.3
#: The pages to time, as paths under the server (each with every period of the picker).
PAGES = ["/dashboard"]
PAGES += [
    "/dashboard/placements",
    "/dashboard/experiments",
    "/dashboard/experiments/sim-recommendations",
    "/dashboard/experiments/sim-offers",
]
#: ``{customer}`` stands for the first customer the lookup page lists (recently active).
PAGES += ["/dashboard/customers", "/dashboard/customers/{customer}"]
PAGES += ["/dashboard/segments", "/dashboard/models", "/dashboard/quality"]
PERIODS = ["24h", "7d", "30d"]


def login(client: httpx.Client, key: str) -> None:
    form = client.get("/dashboard/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, "no CSRF token on the login form"
    done = client.post(
        "/dashboard/login", data={"key": key, "csrf": token.group(1), "next": "/dashboard"}
    )
    if done.status_code != 303:
        raise SystemExit(f"login refused ({done.status_code}): is it an admin or view key?")


def first_customer(client: httpx.Client) -> str:
    """The id (as in its URL) of the first recently active customer the lookup lists."""
    found = re.search(
        r'href="/dashboard/customers/([^"?]+)"', client.get("/dashboard/customers").text
    )
    if found is None:
        raise SystemExit("/dashboard/customers lists no customer: is there any event?")
    return found.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8642")
    parser.add_argument("--key", required=True, help="an admin or view key")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--customer", help="the customer page's id (default: the first recently active)"
    )
    args = parser.parse_args()
    with httpx.Client(base_url=args.url, timeout=30, follow_redirects=False) as client:
        login(client, args.key)
        print(f"{'page':<34} {'median ms':>10} {'worst ms':>9} {'KB':>6} {'of 300 ms':>10}")
        for path in PAGES:
            if "{customer}" in path:
                path = path.replace("{customer}", args.customer or first_customer(client))
            for period in PERIODS:
                url = f"{path}?period={period}"
                first = client.get(url)
                if first.status_code != 200:
                    raise SystemExit(f"{url}: {first.status_code}")
                times = []
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    answer = client.get(url)
                    times.append(time.perf_counter() - start)
                    assert answer.status_code == 200
                median = statistics.median(times)
                print(
                    f"{url:<34} {median * 1000:>10.1f} {max(times) * 1000:>9.1f} "
                    f"{len(answer.content) / 1024:>6.0f} {median / CEILING_SECONDS:>9.0%}"
                )


if __name__ == "__main__":
    main()
