ENV = environment(REQUIRED)


class RecordedFlow(HttpUser):
    """A user who sends the recorded calls in order, round after round."""

    host = os.environ.get("BASE_URL") or DEFAULT_BASE_URL
    wait_time = constant(0)

    @task
    def recorded_calls(self):
        run(LocustSession(self))
