"""The bounded concurrent load of api_load.py finishes with no error and no lost write."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import api_load  # noqa: E402
from harness import TwoStations  # noqa: E402


class LoadTest(TwoStations):
    def test_fifty_clients_ten_thousand_requests_no_error_no_lost_write(self):
        figures = api_load.run_load(self.alpha, clients=50, requests=10_000)
        print(json.dumps(figures), file=sys.stderr)
        self.assertEqual(figures["requests"], 10_000)
        self.assertEqual(figures["errors"], 0, figures["first_errors"])
        self.assertEqual(figures["writes"], 2_000)
        self.assertEqual(figures["writes_distinct"], 2_000, "every write got its own seq")
        self.assertEqual(figures["record_grew_by"], 2_000, "every write is on the record")


if __name__ == "__main__":
    unittest.main()
