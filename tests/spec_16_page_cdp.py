"""A headless Chromium for tests/spec_16_page_browser.rs, driven over the
DevTools protocol on --remote-debugging-pipe (NUL-terminated JSON on the
browser's fds 3 and 4). Python's stdlib only.

usage: spec_16_page_cdp.py CHROMIUM URL PROFILE_DIR

Prints `ready` once URL is loaded (or `cannot run chromium: WHY` and
exits 0, for the test to report a skip). Then reads one request per line
on stdin, a JSON string: a JavaScript expression, evaluated in the page
(promises awaited), answered with one line of JSON: {"value": ...} or
{"error": "..."}; or "!shot PATH", a PNG screenshot written to PATH; or
"!nojs", the page reloaded with JavaScript off; or "!cdp METHOD PARAMS",
any DevTools method called on the page.
Every wait has a deadline; at the end of stdin the browser is closed.
Chromium's stderr goes to PROFILE_DIR/chromium.log.
"""

import base64
import fcntl
import json
import os
import select
import sys
import time

DEADLINE = 30.0


class Browser:
    def __init__(self, chromium, profile):
        # Chromium's own chatter goes to a file beside its profile.
        os.makedirs(profile, exist_ok=True)
        self.log = os.path.join(profile, "chromium.log")
        cmd_r, cmd_w = os.pipe()
        res_r, res_w = os.pipe()
        args = [
            chromium,
            "--headless",
            "--remote-debugging-pipe",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--window-size=1280,720",
            "--user-data-dir=" + profile,
        ]
        if os.geteuid() == 0:
            args.append("--no-sandbox")
        args.append("about:blank")
        # The pipes are close-on-exec; dup2 gives the child its fds 3, 4.
        cmd_r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD_CLOEXEC, 10)
        res_w = fcntl.fcntl(res_w, fcntl.F_DUPFD_CLOEXEC, 10)
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, self.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
            (os.POSIX_SPAWN_DUP2, cmd_r, 3),
            (os.POSIX_SPAWN_DUP2, res_w, 4),
        ]
        self.pid = os.posix_spawn(chromium, args, os.environ, file_actions=actions)
        os.close(cmd_r)
        os.close(res_w)
        self.w, self.r = cmd_w, res_r
        self.buf = b""
        self.next_id = 0
        self.session = None

    def call(self, method, params=None, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        end = time.monotonic() + DEADLINE
        while True:
            while b"\0" not in self.buf:
                left = end - time.monotonic()
                if left <= 0 or not select.select([self.r], [], [], left)[0]:
                    raise TimeoutError("no answer to %s within %ss" % (method, DEADLINE))
                data = os.read(self.r, 1 << 20)
                if not data:
                    raise EOFError("chromium closed its pipe (answering %s)" % method)
                self.buf += data
            raw, self.buf = self.buf.split(b"\0", 1)
            m = json.loads(raw)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})

    def open(self, url):
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        att = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        self.session = att["sessionId"]
        self.call("Page.navigate", {"url": url})
        self.loaded()

    def loaded(self):
        end = time.monotonic() + DEADLINE
        while True:
            try:
                if self.eval("document.readyState") == {"value": "complete"}:
                    return
            except RuntimeError:
                pass  # between two documents
            if time.monotonic() > end:
                raise TimeoutError("the page did not load within %ss" % DEADLINE)
            time.sleep(0.05)

    def nojs(self):
        self.call("Emulation.setScriptExecutionDisabled", {"value": True})
        self.call("Page.reload")
        time.sleep(0.2)
        self.loaded()
        return {"value": True}

    def eval(self, expr):
        r = self.call(
            "Runtime.evaluate",
            {"expression": expr, "awaitPromise": True, "returnByValue": True},
        )
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            return {"error": d.get("exception", {}).get("description") or d.get("text")}
        return {"value": r.get("result", {}).get("value")}

    def shot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return {"value": True}

    def close(self):
        try:
            self.call("Browser.close", session=False)
        except Exception:
            pass
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if os.waitpid(self.pid, os.WNOHANG)[0]:
                return
            time.sleep(0.05)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)


def main():
    chromium, url, profile = sys.argv[1:4]
    try:
        b = Browser(chromium, profile)
    except OSError as e:
        print("cannot run chromium: %s" % e, flush=True)
        return
    try:
        try:
            b.call("Browser.getVersion", session=False)
        except Exception as e:
            with open(b.log, errors="replace") as f:
                tail = f.read()[-600:].strip().replace("\n", " | ")
            print("cannot run chromium: %s (its log: %s)" % (e, tail), flush=True)
            return
        b.open(url)
        print("ready", flush=True)
        for line in sys.stdin:
            req = json.loads(line)
            try:
                if req.startswith("!shot "):
                    out = b.shot(req[6:])
                elif req.startswith("!cdp "):
                    method, params = req[5:].split(" ", 1)
                    out = {"value": b.call(method, json.loads(params))}
                elif req == "!nojs":
                    out = b.nojs()
                else:
                    out = b.eval(req)
            except Exception as e:
                out = {"error": "%s: %s" % (type(e).__name__, e)}
            print(json.dumps(out), flush=True)
    finally:
        b.close()


main()
