import random

import gevent
from locust import HttpUser, constant, task
from locust.exception import RescheduleTask

THINK_SCALE = float(os.environ.get("APITAPE_THINK_SCALE") or 1)
UNIQUE = [re.compile(rb'(?<=["/=])' + re.escape(v.encode()) + rb'(?=["/?&]|$)') for v in os.environ.get("APITAPE_UNIQUE", "").split(",") if v]


class LocustSession(Calls):
    """One round of the recorded calls by one simulated user: its own
    values, its own connections, the recorded pauses."""

    def __init__(self, user):
        if not hasattr(user, "apitape_adapter"):
            user.apitape_adapter = ExactAdapter()
            user.client.mount("http://", user.apitape_adapter)
            user.client.mount("https://", user.apitape_adapter)
            user.apitape_id = "%06x" % random.getrandbits(24)
            user.apitape_rounds = 0
        user.apitape_rounds += 1
        super().__init__(user.host or DEFAULT_BASE_URL, dict(ENV), user.client, user.apitape_adapter)
        self.suffix = ("-%s-%d" % (user.apitape_id, user.apitape_rounds)).encode()
        self.prev_end = None
        self.pending = None

    def unique(self, data):
        for pattern in UNIQUE:
            data = pattern.sub(lambda m: m.group(0) + self.suffix, data)
        return data

    def send(self, index, label, method, origin, target, lines, body, recorded, name, at):
        self.finish()
        if at is not None:
            if self.prev_end is not None and at[0] > self.prev_end and THINK_SCALE > 0:
                gevent.sleep((at[0] - self.prev_end) / 1000 * THINK_SCALE)
            self.prev_end = at[0] + at[1]
        if UNIQUE:
            target = self.unique(target)
            if body is not None:
                body = self.unique(body)
        self.next(method, origin, target, lines)
        r = self.http.request(method, origin + "/", name=name, data=body, allow_redirects=False, catch_response=True)
        r.__enter__()
        self.pending = r
        r.apitape_call = (index, label)
        if not r.status_code:
            self.stop("call %d (%s) failed: no answer from the server" % (index, label))
        try:
            self.check(index, label, recorded, r, r.content)
        except Failed as e:
            self.stop(str(e))
        if recorded and r.status_code != recorded:
            self.stop("call %d (%s): HTTP %d, recorded %d" % (index, label, r.status_code, recorded))
        # The recorded status is the expected one, a 4xx or 5xx included;
        # unmarked, Locust would count such an answer as a failure.
        r.success()
        return r

    def take(self, r, *args):
        try:
            super().take(r, *args)
        except Failed as e:
            self.stop(str(e))

    def in_url(self, r, *args):
        try:
            super().in_url(r, *args)
        except Failed as e:
            self.stop(str(e))

    def stop(self, message):
        """Counts the pending call as failed, naming it, and ends the round."""
        self.pending.failure(message)
        self.finish()
        raise RescheduleTask()

    def finish(self):
        if self.pending is not None:
            self.pending.__exit__(None, None, None)
            self.pending = None

    def done(self):
        self.finish()
