"""The judge of tests/spec_13_rpc.rs: Python's xmlrpc.client calling every
process method of a supervisord-compatible server, sv or supervisord
itself. Each probe prints one line, `NAME: WHAT`, where WHAT is the shape
of the answer (a fault's code, a struct's keys, the values that must not
differ between servers), so the test compares two servers line by line.

    python spec_13_rpc.py URL      (http://HOST:PORT or unix:///PATH)

The config it expects: [program:web] and [program:idle] (autostart=false)
sleepers, [program:quick] that exits at once (autostart=false,
startretries=1), [program:missing] whose command does not exist
(autostart=false), and [group:grp] of the sleepers a and b.
"""

import datetime
import sys
import time
import xmlrpc.client

from supervisor.xmlrpc import SupervisorTransport


def proxy(url):
    if url.startswith("unix://"):
        t = SupervisorTransport(None, None, url)
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=t)
    return xmlrpc.client.ServerProxy(url + "/RPC2")


def probe(name, call, shape=repr):
    try:
        value = call()
    except xmlrpc.client.Fault as f:
        print("%s: fault %d %s" % (name, f.faultCode, f.faultString))
        return None
    print("%s: %s" % (name, shape(value)))
    return value


def keys(v):
    return ",".join(sorted(v))


def results(rs):
    return " ".join("%s/%s=%d" % (r["group"], r["name"], r["status"]) for r in rs)


def sorted_results(rs):
    """For stops: supervisord lists them as they end."""
    return results(sorted(rs, key=lambda r: (r["group"], r["name"])))


def stop_time(stop):
    """The description supervisord gives a stopped process."""
    return datetime.datetime(*time.localtime(stop)[:7]).strftime("%b %d %I:%M %p")


def wait_state(s, name, statename, secs=10):
    end = time.time() + secs
    while time.time() < end:
        if s.supervisor.getProcessInfo(name)["statename"] == statename:
            return True
        time.sleep(0.05)
    return False


def main():
    s = proxy(sys.argv[1])
    sup = s.supervisor
    if not wait_state(s, "web", "RUNNING"):
        print("web never RUNNING")
        return 1

    names = set(s.system.listMethods())
    mine = [
        "system.listMethods", "system.methodHelp", "system.methodSignature",
        "system.multicall", "supervisor.getAPIVersion", "supervisor.getVersion",
        "supervisor.getSupervisorVersion", "supervisor.getIdentification",
        "supervisor.getState", "supervisor.getPID", "supervisor.shutdown",
        "supervisor.restart", "supervisor.startProcess",
        "supervisor.startProcessGroup", "supervisor.startAllProcesses",
        "supervisor.stopProcess", "supervisor.stopProcessGroup",
        "supervisor.stopAllProcesses", "supervisor.signalProcess",
        "supervisor.signalProcessGroup", "supervisor.signalAllProcesses",
        "supervisor.getProcessInfo", "supervisor.getAllProcessInfo",
        "supervisor.sendProcessStdin", "supervisor.sendRemoteCommEvent",
    ]
    print("listMethods has every process method: %s" % all(m in names for m in mine))
    for m in mine:
        probe("methodSignature " + m, lambda: s.system.methodSignature(m))
    probe("methodHelp is text", lambda: s.system.methodHelp("supervisor.startProcess"),
          lambda v: isinstance(v, str) and len(v) > 0)
    probe("methodHelp of nothing", lambda: s.system.methodHelp("supervisor.nothing"))
    probe("methodSignature of nothing", lambda: s.system.methodSignature("nothing"))

    probe("getAPIVersion", sup.getAPIVersion)
    probe("getVersion", sup.getVersion)
    probe("getSupervisorVersion is text", sup.getSupervisorVersion,
          lambda v: isinstance(v, str) and len(v) > 0)
    probe("getIdentification", sup.getIdentification)
    probe("getState", sup.getState)
    probe("getPID is a pid", sup.getPID, lambda v: isinstance(v, int) and v > 1)
    probe("getAPIVersion(1)", lambda: sup.getAPIVersion(1))

    # CVE-2017-11610: no attribute is looked up by name.
    probe("execve", lambda: getattr(sup, "supervisord.options.execve")("/bin/sh", [], {}))
    probe("unknown method", lambda: sup.nothing())
    probe("unknown namespace", lambda: getattr(s, "nothing").getAPIVersion())
    probe("private method", lambda: sup._update("x"))

    info = probe("getProcessInfo web", lambda: sup.getProcessInfo("web"), keys)
    print("web state: %s %s group %s name %s" % (
        info["state"], info["statename"], info["group"], info["name"]))
    print("web description: %s" % (
        info["description"] == "pid %d, uptime %s" % (
            info["pid"], datetime.timedelta(seconds=info["now"] - info["start"]))))
    print("web times: %s" % (info["start"] > 0 and info["now"] >= info["start"]
                             and abs(info["now"] - time.time()) < 5))
    print("web logfile is stdout_logfile: %s" % (info["logfile"] == info["stdout_logfile"]))
    idle = sup.getProcessInfo("idle")
    print("idle: %s %s %r start %d pid %d" % (
        idle["state"], idle["statename"], idle["description"], idle["start"], idle["pid"]))
    a = sup.getProcessInfo("grp:a")
    print("grp:a: group %s name %s" % (a["group"], a["name"]))
    probe("getProcessInfo a (in grp)", lambda: sup.getProcessInfo("a"))
    probe("getProcessInfo nothing", lambda: sup.getProcessInfo("nothing"))
    probe("getProcessInfo grp:*", lambda: sup.getProcessInfo("grp:*"))
    probe("getProcessInfo()", lambda: sup.getProcessInfo())
    probe("getAllProcessInfo", sup.getAllProcessInfo,
          lambda v: " ".join("%s:%s" % (i["group"], i["name"]) for i in v))

    probe("startProcess web (running)", lambda: sup.startProcess("web"))
    probe("startProcess nothing", lambda: sup.startProcess("nothing"))
    probe("stopProcess idle (stopped)", lambda: sup.stopProcess("idle"))
    probe("startProcess idle", lambda: sup.startProcess("idle"))
    print("idle after start: %s" % sup.getProcessInfo("idle")["statename"])
    probe("stopProcess idle", lambda: sup.stopProcess("idle"))
    idle = sup.getProcessInfo("idle")
    print("idle after stop: %s, description is its stop time: %s, stop >= start: %s" % (
        idle["statename"], idle["description"] == stop_time(idle["stop"]),
        idle["stop"] >= idle["start"] > 0))
    probe("startProcess missing", lambda: sup.startProcess("missing"))
    probe("startProcess quick", lambda: sup.startProcess("quick"))
    probe("startProcess idle wait=False", lambda: sup.startProcess("idle", False))
    wait_state(s, "idle", "RUNNING")
    probe("stopProcess idle wait=False", lambda: sup.stopProcess("idle", False))
    wait_state(s, "idle", "STOPPED")

    probe("stopProcessGroup grp", lambda: sup.stopProcessGroup("grp"), sorted_results)
    probe("stopProcessGroup grp again", lambda: sup.stopProcessGroup("grp"), results)
    probe("startProcessGroup grp", lambda: sup.startProcessGroup("grp"), results)
    probe("startProcessGroup nothing", lambda: sup.startProcessGroup("nothing"))
    probe("stopProcess grp:*", lambda: sup.stopProcess("grp:*"), sorted_results)
    probe("startProcess grp:*", lambda: sup.startProcess("grp:*"), results)
    probe("startProcess grp:a (running)", lambda: sup.startProcess("grp:a"))

    probe("signalProcess web CONT", lambda: sup.signalProcess("web", "CONT"))
    probe("signalProcess web 18", lambda: sup.signalProcess("web", "18"))
    probe("signalProcess web SIGCONT", lambda: sup.signalProcess("web", "SIGCONT"))
    probe("signalProcess web NOSUCH", lambda: sup.signalProcess("web", "NOSUCH"))
    probe("signalProcess idle CONT (stopped)", lambda: sup.signalProcess("idle", "CONT"))
    probe("signalProcess nothing CONT", lambda: sup.signalProcess("nothing", "CONT"))
    probe("signalProcessGroup grp CONT", lambda: sup.signalProcessGroup("grp", "CONT"), results)
    probe("signalProcessGroup grp NOSUCH", lambda: sup.signalProcessGroup("grp", "NOSUCH"), results)
    probe("signalProcess grp:* CONT", lambda: sup.signalProcess("grp:*", "CONT"), results)
    probe("signalAllProcesses CONT", lambda: sup.signalAllProcesses("CONT"), results)

    probe("sendProcessStdin idle (stopped)", lambda: sup.sendProcessStdin("idle", "x"))
    probe("sendProcessStdin nothing", lambda: sup.sendProcessStdin("nothing", "x"))
    probe("sendRemoteCommEvent", lambda: sup.sendRemoteCommEvent("type", "data"))

    probe("multicall", lambda: s.system.multicall([
        {"methodName": "supervisor.getAPIVersion", "params": []},
        {"methodName": "supervisor.getProcessInfo", "params": ["nothing"]},
        {"methodName": "supervisor.startProcess", "params": []},
        {"methodName": "system.multicall", "params": [[]]},
        {"methodName": "supervisor.supervisord.options.execve", "params": []},
        {"params": []},
        {"methodName": "supervisor.getProcessInfo", "params": ["web"]},
    ]), lambda v: repr([x if not isinstance(x, dict) else
                        x.get("faultCode", x.get("statename")) for x in v]))
    probe("multicall startProcess idle", lambda: s.system.multicall([
        {"methodName": "supervisor.startProcess", "params": ["idle"]},
        {"methodName": "supervisor.startProcess", "params": ["idle"]},
    ]), lambda v: repr([x if not isinstance(x, dict) else x["faultCode"] for x in v]))
    wait_state(s, "idle", "RUNNING")

    probe("stopAllProcesses", sup.stopAllProcesses, sorted_results)
    probe("stopAllProcesses again", sup.stopAllProcesses, results)
    probe("startAllProcesses", sup.startAllProcesses,
          lambda rs: results([r for r in rs if r["name"] != "quick"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
