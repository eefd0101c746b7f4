"""Stands in for the person's web browser when a client "opens" a URL (``$BROWSER``
for xdg-open, or a fake ``xdg-open`` on PATH).

Usage: browser_standin.py URL. It loads the URL (Switchboard's consent page), posts
the page's form back the way the page's own script does (that request waits until the
person decided in the app: the test decides through the engine's ConsentBroker), and
follows the 303 redirect to the client's loopback callback, like a browser. Appends a
JSON line describing what it did to ``$SB_BROWSER_LOG``. Standard library only.
"""

import http.cookiejar
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request


def main(url: str) -> int:
    record: dict[str, object] = {"opened": url}
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),  # loopback only, whatever the environment says
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
    )
    try:
        with opener.open(url, timeout=60) as page:
            html = page.read().decode("utf-8", "replace")
            record["page_status"] = page.status
            page_url = page.geturl()
        fields = dict(re.findall(r'name="(request_id|csrf_token)" value="([^"]+)"', html))
        action = re.search(r'<form[^>]* action="([^"]+)"', html)
        if action is None or len(fields) != 2:
            record["error"] = "not a consent page"
            return 1
        record["request_id"] = fields["request_id"]
        data = urllib.parse.urlencode(fields).encode()
        # urllib follows the 303 with a GET, as a browser does: to the client's callback.
        with opener.open(urllib.parse.urljoin(page_url, action.group(1)), data, 300) as landed:
            record["landed"] = landed.geturl()
            record["landed_status"] = landed.status
        return 0
    except (OSError, urllib.error.URLError) as exc:
        record["error"] = repr(exc)
        return 1
    finally:
        with open(os.environ["SB_BROWSER_LOG"], "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
