#include "projections/log_scan.h"

#include <algorithm>
#include <condition_variable>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "ledger/canonical_decode.h"
#include "ledger/store/event_store.h"
#include "ledger/store/sqlite.h"
#include "projections/tables.h"

namespace escrow::projections {

Result<LogEvent> decode_log_event(std::string_view stream, std::string_view type,
                                  std::string_view data) {
  // Nearly every event is stored as the encoder wrote it, which the fast path reads; anything
  // else goes through the general decoder, as before.
  if (stream == webhook_stream) {
    if (auto event = decode_canonical_webhook_event(type, data)) return LogEvent(std::move(*event));
  } else if (auto event = decode_canonical_event(type, data)) {
    return LogEvent(std::move(*event));
  }
  if (stream == webhook_stream) {
    Result<WebhookEvent> event = decode_webhook_event(type, data);
    if (!event.is_ok()) return event.status();
    return LogEvent(std::move(event).value());
  }
  Result<Event> event = decode_event(type, data);
  if (event.is_ok()) return LogEvent(std::move(event).value());
  if (!is_known_event_type(type) && !stream.starts_with("booking-") &&
      !stream.starts_with("provider-"))
    return LogEvent();
  return event.status();
}

int scan_threads_default() {
  unsigned cores = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp(cores, 1u, 8u));
}

namespace {

// What is wrong with the link into an event, if anything: its seq must follow the previous
// event's, its prev_hash must be the previous event's hash, and its own hash must match its
// content (checked in this order, so the first of these that fails is the one named).
std::string link_problem(int64_t seq, std::string_view prev_hash, bool hash_ok,
                         int64_t expected_seq, std::string_view expected_prev_hash) {
  if (seq != expected_seq) return "expected seq " + std::to_string(expected_seq) + " (a gap)";
  if (prev_hash != expected_prev_hash)
    return "prev_hash does not match the hash of seq " + std::to_string(seq - 1);
  if (!hash_ok) return "hash does not match the event's content (altered)";
  return {};
}

void stop_at(ScanChunk& chunk, int64_t seq, std::string_view why) {
  chunk.problem_seq = seq;
  chunk.problem = "seq " + std::to_string(seq) + ": " + std::string(why);
}

bool feeds_postings(std::string_view stream) {
  return stream.starts_with("booking-") || stream.starts_with("provider-");
}

// One worker's connection and statement, opened on its first chunk.
class ChunkReader {
 public:
  explicit ChunkReader(const ScanOptions& options) : options_(options) {}
  Status read(int64_t index, ScanChunk& chunk);

 private:
  Status open();
  void read_row(ScanChunk& chunk, size_t row);

  const ScanOptions& options_;
  sqlite::Db db_;  // declared first: the statement is finalized before the connection closes
  sqlite::Stmt stmt_;
};

Status ChunkReader::open() {
  auto db = sqlite::Db::open(options_.path, sqlite::Db::Mode::read_only);
  if (!db.is_ok()) return db.status();
  db_ = std::move(db).value();
  // Large reads go through a memory map rather than read() calls and a small page cache.
  (void)db_.exec("PRAGMA mmap_size = 8589934592; PRAGMA cache_size = -65536");
  auto stmt = db_.prepare(
      options_.chain
          ? "SELECT seq, stream, version, type, data, recorded_at, meta, prev_hash, hash FROM "
            "events WHERE seq >= ? AND seq <= ? ORDER BY seq"
          : "SELECT seq, stream, version, type, data, recorded_at FROM events WHERE seq >= ? AND "
            "seq <= ? ORDER BY seq");
  if (!stmt.is_ok()) return stmt.status();
  stmt_ = std::move(stmt).value();
  return Status::ok();
}

Status ChunkReader::read(int64_t index, ScanChunk& chunk) {
  if (!db_.is_open()) {
    if (Status s = open(); !s.is_ok()) return s;
  }
  chunk.index = index;
  chunk.count = 0;
  chunk.problem_seq.reset();
  chunk.problem.clear();
  chunk.ledger_digest = TableDigest();
  chunk.first_seq = 0;
  chunk.first_prev_hash.clear();
  chunk.first_hash_ok = true;
  chunk.last_seq = 0;
  chunk.last_hash.clear();
  // The first chunk has no lower bound: a row with a seq below 1 is a break in the chain too.
  int64_t lo = index == 0 ? std::numeric_limits<int64_t>::min() : index * options_.chunk_events + 1;
  int64_t hi = std::min((index + 1) * options_.chunk_events, options_.last_seq);
  stmt_.bind(1, lo).bind(2, hi);
  for (size_t row = 0;; ++row) {
    auto more = stmt_.step();
    if (!more.is_ok()) {
      stmt_.reset();
      return more.status();
    }
    if (!more.value()) break;
    read_row(chunk, row);
    if (chunk.problem_seq) break;
  }
  stmt_.reset();
  return Status::ok();
}

// Checks and decodes the current row, the chunk's `row`-th, straight from SQLite's buffers. A
// problem ends the chunk at this row.
void ChunkReader::read_row(ScanChunk& chunk, size_t row) {
  const sqlite::Stmt& s = stmt_;
  int64_t seq = s.column_int64(0);
  std::string_view stream = s.column_view(1);
  int64_t version = s.column_int64(2);
  std::string_view type = s.column_view(3);
  std::string_view data = s.column_view(4);
  int64_t recorded_at_ms = s.column_int64(5);
  if (row == 0) chunk.first_seq = seq;
  if (options_.chain) {
    std::string_view meta = s.column_view(6);
    std::string_view prev_hash = s.column_view(7);
    std::string_view hash = s.column_view(8);
    bool hash_ok = event_hash(EventHashFields{prev_hash, seq, stream, version, type, recorded_at_ms,
                                              data, meta}) == hash;
    if (row == 0) {
      chunk.first_prev_hash.assign(prev_hash);
      chunk.first_hash_ok = hash_ok;
    } else if (std::string why =
                   link_problem(seq, prev_hash, hash_ok, chunk.last_seq + 1, chunk.last_hash);
               !why.empty()) {
      return stop_at(chunk, seq, why);
    }
    chunk.last_seq = seq;
    chunk.last_hash.assign(hash);
  }
  Result<LogEvent> event = decode_log_event(stream, type, data);
  if (!event.is_ok()) return stop_at(chunk, seq, event.status().message());
  if (chunk.events.size() == chunk.count) chunk.events.emplace_back();
  ScannedEvent& e = chunk.events[chunk.count];
  e.seq = seq;
  e.version = version;
  e.recorded_at_ms = recorded_at_ms;
  e.stream.assign(stream);
  e.event = std::move(event).value();
  e.postings.clear();
  if (const Event* domain = std::get_if<Event>(&e.event); domain && feeds_postings(stream)) {
    e.postings = postings_for(*domain);
    for (size_t i = 0; i < e.postings.size(); ++i)
      chunk.ledger_digest.add_ledger_entry(seq, static_cast<int>(i), e.postings[i]);
  }
  ++chunk.count;
}

// The scheduler: workers take, in this order of preference, the next chunk of a lane that is
// free and has it ready; the next chunk to read (while the reading is not too far ahead of the
// slowest lane). Chunks are handed to the lanes only once every chunk before them
// was read and its link checked, so lanes see the log in order with no gap.
class Scan {
 public:
  Scan(const ScanOptions& options, const std::vector<Lane>& lanes)
      : options_(options), lanes_(lanes), cursor_(lanes.size(), 0), busy_(lanes.size(), false) {
    int64_t c = options.chunk_events;
    chunks_ = options.last_seq > 0 ? (options.last_seq + c - 1) / c : 0;
    end_ = chunks_;
  }

  Status run(int threads, int in_flight_max) {
    in_flight_max_ = in_flight_max;
    std::vector<std::thread> workers;
    for (int i = 1; i < threads; ++i) workers.emplace_back([this] { work(); });
    work();
    for (std::thread& t : workers) t.join();
    return error_;
  }

 private:
  struct Slot {
    std::unique_ptr<ScanChunk> chunk;
    bool read = false;
  };

  void work();
  bool run_lane(std::unique_lock<std::mutex>& lock);
  bool read_next(std::unique_lock<std::mutex>& lock, ChunkReader& reader);
  int64_t min_cursor() const {
    int64_t m = end_;
    for (int64_t c : cursor_) m = std::min(m, c);
    return m;
  }
  void fail(const Status& status) {
    if (error_.is_ok()) error_ = status;
    cv_.notify_all();
  }
  void link_ready_chunks();
  void recycle_consumed();

  const ScanOptions& options_;
  const std::vector<Lane>& lanes_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int in_flight_max_ = 8;
  int64_t chunks_ = 0;
  int64_t end_ = 0;        // chunks from here on are never handed over (the scan stopped)
  int64_t next_read_ = 0;  // the next chunk to read
  int64_t linked_ = 0;     // chunks before this one are ready for the lanes
  std::map<int64_t, Slot> slots_;
  std::vector<std::unique_ptr<ScanChunk>> free_;
  std::vector<int64_t> cursor_;  // per lane, the next chunk it takes
  std::vector<bool> busy_;
  Status error_;
  // The chain as of the last linked chunk.
  int64_t expected_seq_ = 1;
  std::string prev_hash_ = genesis_hash;
  int64_t rows_ = 0;
};

void Scan::work() {
  ChunkReader reader(options_);
  std::unique_lock lock(mutex_);
  while (error_.is_ok()) {
    if (run_lane(lock) || read_next(lock, reader)) continue;
    if (min_cursor() >= end_) break;
    cv_.wait(lock);
  }
  cv_.notify_all();
}

bool Scan::run_lane(std::unique_lock<std::mutex>& lock) {
  for (size_t l = 0; l < lanes_.size(); ++l) {
    int64_t k = cursor_[l];
    if (busy_[l] || k >= end_ || k >= linked_) continue;
    busy_[l] = true;
    const ScanChunk& chunk = *slots_.at(k).chunk;
    lock.unlock();
    bool more = lanes_[l](chunk);
    lock.lock();
    busy_[l] = false;
    cursor_[l] = k + 1;
    if (!more) end_ = std::min(end_, k + 1);
    recycle_consumed();
    cv_.notify_all();
    return true;
  }
  return false;
}

bool Scan::read_next(std::unique_lock<std::mutex>& lock, ChunkReader& reader) {
  if (next_read_ >= end_ || next_read_ >= min_cursor() + in_flight_max_) return false;
  int64_t k = next_read_++;
  std::unique_ptr<ScanChunk> chunk;
  if (!free_.empty()) {
    chunk = std::move(free_.back());
    free_.pop_back();
  } else {
    chunk = std::make_unique<ScanChunk>();
  }
  lock.unlock();
  Status status = reader.read(k, *chunk);
  lock.lock();
  if (!status.is_ok()) {
    fail(status);
    return true;
  }
  slots_[k] = Slot{std::move(chunk), true};
  link_ready_chunks();
  cv_.notify_all();
  return true;
}

// Hands over, in order, every chunk that is read and follows the last one handed over: checks the
// link into its first row and numbers its rows. A problem makes it the last chunk.
void Scan::link_ready_chunks() {
  while (linked_ < end_) {
    auto it = slots_.find(linked_);
    if (it == slots_.end() || !it->second.read) return;
    ScanChunk& chunk = *it->second.chunk;
    chunk.rows_before = rows_;
    bool has_rows = chunk.count > 0 || chunk.problem_seq;
    if (options_.chain && has_rows) {
      std::string why = link_problem(chunk.first_seq, chunk.first_prev_hash, chunk.first_hash_ok,
                                     expected_seq_, prev_hash_);
      if (!why.empty()) {
        chunk.count = 0;
        chunk.ledger_digest = TableDigest();
        stop_at(chunk, chunk.first_seq, why);
      }
    }
    if (chunk.problem_seq) {
      end_ = linked_ + 1;
    } else if (options_.chain && chunk.count > 0) {
      expected_seq_ = chunk.last_seq + 1;
      prev_hash_ = chunk.last_hash;
    }
    rows_ += static_cast<int64_t>(chunk.count);
    ++linked_;
  }
}

void Scan::recycle_consumed() {
  int64_t done = min_cursor();
  while (!slots_.empty() && slots_.begin()->first < done) {
    free_.push_back(std::move(slots_.begin()->second.chunk));
    slots_.erase(slots_.begin());
  }
}

}  // namespace

Status scan_log(const ScanOptions& options, const std::vector<Lane>& lanes) {
  LEDGER_ASSERT(!lanes.empty(), "a scan has at least one lane");
  LEDGER_ASSERT(options.chunk_events > 0, "chunks hold events");
  int threads = options.threads > 0 ? options.threads : scan_threads_default();
  int in_flight = options.chunks_in_flight_max > 0 ? options.chunks_in_flight_max : 4 * threads;
  Scan scan(options, lanes);
  return scan.run(threads, in_flight);
}

}  // namespace escrow::projections
