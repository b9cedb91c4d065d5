// FaultVfs: a SQLite VFS over the platform's own ("unix") that counts the writes, truncations and
// syncs SQLite makes to its files and can fail them, for escrow-sim and its crash-point loop.
//
// Faults, by the number of the operation they hit (operations counted from 1 since the last
// heal(), across every file of every connection):
// - fail_at(n): operation n fails once with an I/O error (SQLITE_IOERR_WRITE, _TRUNCATE or
//   _FSYNC); the ones after succeed. A disk that refused one write.
// - cut_at(n): operation n and every one after fail, and nothing more reaches the files: the
//   process was killed there. Whatever was written before stays (the kernel has it).
// - lose_unsynced(): power lost. Every file goes back to what it held at its last sync: each write
//   and truncation since is undone (their earlier bytes were kept when they were made). Files
//   are synced as SQLite syncs them; a file first opened is taken as synced as it is.
// Deleting a file takes effect at once (SQLite syncs the directory after a delete).
//
// install() registers the VFS as the process's default, so every connection opened afterwards
// (the event store's, the read pool's, the notifier's) goes through it with no change to them.
//
// Thread-safety: every member may be called from any thread (one mutex); SQLite's writer thread
// and the simulation's thread both reach it. Operations are numbered in the order they are made,
// which is deterministic when only one thread writes at a time (the simulation waits for each
// command).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace escrow::sim {

class FaultVfs {
 public:
  // The process's one FaultVfs, registered as SQLite's default VFS on first call.
  static FaultVfs& install();

  struct Counts {
    uint64_t writes = 0, truncates = 0, syncs = 0;
    uint64_t failed = 0;  // operations refused by a fault
    uint64_t operations() const { return writes + truncates + syncs; }
  };
  Counts counts() const;  // since the last heal()

  void fail_at(uint64_t operation);  // 1-based, counted from the last heal()
  void cut_at(uint64_t operation);
  bool is_cut() const;  // a cut was reached: nothing reaches the files any more

  // Power lost: every tracked file back to its content at its last sync. Call with every
  // connection closed (the process is gone).
  void lose_unsynced();
  // A new process: no fault pending, counts from zero, every file taken as synced as it is.
  void heal();

  struct Impl;

 private:
  FaultVfs() = default;
};

}  // namespace escrow::sim
