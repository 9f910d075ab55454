/*
 * kafka-test-broker: a Kafka-protocol broker for tests, built on librdkafka's
 * mock cluster (Confluent's in-process implementation of the Kafka wire
 * protocol). It is NOT Apache Kafka: it does not compact, does not implement
 * CreateTopics and reports controller id 0. Topics are therefore created here.
 *
 * Usage: kafka-test-broker [--brokers N] [--topic NAME:PARTITIONS]...
 *
 * Prints "BOOTSTRAP host:port,..." once the cluster listens, then answers one
 * control command per stdin line with "OK ..." or "ERR <reason>":
 *   down <broker|-1>             disconnect a broker (or all) and refuse connections
 *   up <broker|-1>               accept connections again
 *   rtt <broker|-1> <ms>         add round-trip delay
 *   error <apiKey> <code> [n]    fail the next n requests of apiKey with code
 *   clear <apiKey>               drop pending injected errors for apiKey
 *   topic <name> <partitions>    create a topic
 *   ping                         liveness probe
 *   quit                         stop
 * Exits on SIGTERM/SIGINT, on stdin EOF and when its parent dies.
 */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;
static void on_signal(int sig) { (void)sig; stopping = 1; }

static int create_topic(rd_kafka_mock_cluster_t *mc, const char *name, int partitions) {
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, name, partitions, 1);
  if (err) {
    printf("ERR topic %s: %s\n", name, rd_kafka_err2str(err));
    return -1;
  }
  return 0;
}

static void report(rd_kafka_resp_err_t err, const char *what) {
  if (err)
    printf("ERR %s: %s\n", what, rd_kafka_err2str(err));
  else
    printf("OK %s\n", what);
}

static void handle(rd_kafka_mock_cluster_t *mc, char *line) {
  char name[256];
  int a, b, n = 1;
  line[strcspn(line, "\r\n")] = '\0';
  if (sscanf(line, "down %d", &a) == 1)
    report(rd_kafka_mock_broker_set_down(mc, a), line);
  else if (sscanf(line, "up %d", &a) == 1)
    report(rd_kafka_mock_broker_set_up(mc, a), line);
  else if (sscanf(line, "rtt %d %d", &a, &b) == 2)
    report(rd_kafka_mock_broker_set_rtt(mc, a, b), line);
  else if (sscanf(line, "error %d %d %d", &a, &b, &n) >= 2) {
    if (n < 1 || n > 1000) {
      printf("ERR count must be 1..1000\n");
    } else {
      rd_kafka_resp_err_t *errs = calloc((size_t)n, sizeof(*errs));
      for (int i = 0; i < n; i++) errs[i] = (rd_kafka_resp_err_t)b;
      rd_kafka_mock_push_request_errors_array(mc, (int16_t)a, (size_t)n, errs);
      free(errs);
      printf("OK %s\n", line);
    }
  } else if (sscanf(line, "clear %d", &a) == 1) {
    rd_kafka_mock_clear_request_errors(mc, (int16_t)a);
    printf("OK %s\n", line);
  } else if (sscanf(line, "topic %255s %d", name, &a) == 2) {
    if (create_topic(mc, name, a) == 0) printf("OK %s\n", line);
  } else if (strcmp(line, "ping") == 0)
    printf("OK pong\n");
  else if (strcmp(line, "quit") == 0)
    stopping = 1, printf("OK quit\n");
  else
    printf("ERR unknown command: %s\n", line);
  fflush(stdout);
}

int main(int argc, char **argv) {
  int brokers = 1;
  char errstr[512];

  /* Never outlive the process that started us (a test run, the demo). */
  prctl(PR_SET_PDEATHSIG, SIGTERM);

  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);

  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) brokers = atoi(argv[++i]);
  if (brokers < 1 || brokers > 16) {
    fprintf(stderr, "--brokers must be 1..16\n");
    return 2;
  }

  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "%s\n", errstr);
    return 2;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    fprintf(stderr, "rd_kafka_new: %s\n", errstr);
    return 2;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) {
    fprintf(stderr, "could not create mock cluster\n");
    return 2;
  }

  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc) {
      char spec[300];
      snprintf(spec, sizeof spec, "%s", argv[++i]);
      char *colon = strrchr(spec, ':');
      int partitions = colon ? atoi(colon + 1) : 1;
      if (colon) *colon = '\0';
      if (partitions < 1 || create_topic(mc, spec, partitions) != 0) {
        fprintf(stderr, "bad --topic %s\n", argv[i]);
        return 2;
      }
    }
  }

  printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);

  char line[512];
  struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
  while (!stopping) {
    int r = poll(&pfd, 1, 200);
    if (r < 0 && errno != EINTR) break;
    if (r > 0) {
      if (!fgets(line, sizeof line, stdin)) break; /* EOF: our controller is gone */
      handle(mc, line);
    }
  }

  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
