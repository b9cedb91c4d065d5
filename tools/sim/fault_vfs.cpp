// The fault-injecting SQLite VFS; see fault_vfs.h.
#include "fault_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>

#include "ledger/status.h"

namespace escrow::sim {

namespace {

struct Undo {  // what a byte range held before a write or truncation since the last sync
  int64_t offset = 0;
  std::string bytes;
};

struct FileLog {
  int64_t synced_size = 0;
  std::vector<Undo> undo;  // in the order made; undone in reverse
};

// A file as SQLite sees it: our header, then the platform VFS's own file object.
struct FaultFile {
  sqlite3_file base;  // first: SQLite's view of the file
  int64_t path_id;    // index into State::paths, or -1 for a temporary file (not tracked)
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};
static_assert(sizeof(FaultFile) % 8 == 0, "the platform's file object must stay aligned");

enum class Op { write, truncate, sync };

}  // namespace

struct FaultVfs::Impl {
  std::mutex mutex;  // guards everything below and serialises the file operations
  sqlite3_vfs* base = nullptr;
  sqlite3_vfs vfs{};
  sqlite3_io_methods methods{};
  std::deque<std::string> paths;  // never shrinks: FaultFile keeps an index into it
  std::map<std::string, int64_t> path_ids;
  std::map<int64_t, FileLog> files;
  Counts counts;
  std::optional<uint64_t> fail_at, cut_at;
  bool cut = false;

  // Counts an operation and says whether a fault refuses it.
  bool refused(Op op) {
    if (cut) {
      ++counts.failed;
      return true;
    }
    uint64_t number = counts.operations() + 1;
    (op == Op::write ? counts.writes : op == Op::truncate ? counts.truncates : counts.syncs)++;
    if (cut_at && number >= *cut_at) cut = true;
    bool fail = cut || (fail_at && number == *fail_at);
    if (fail_at && number == *fail_at) fail_at.reset();
    if (fail) ++counts.failed;
    return fail;
  }

  int64_t id_of(const std::string& path) {
    auto [it, added] = path_ids.emplace(path, static_cast<int64_t>(paths.size()));
    if (added) paths.push_back(path);
    return it->second;
  }

  // Keeps what [offset, end) held, clipped to the synced size: a power loss puts it back.
  static void keep(FileLog& log, sqlite3_file* real, int64_t offset, int64_t end) {
    end = std::min(end, log.synced_size);
    if (offset >= end) return;
    std::string old(static_cast<size_t>(end - offset), '\0');
    // A short read fills the rest with zeros, which is what a restore must write there.
    real->pMethods->xRead(real, old.data(), static_cast<int>(old.size()), offset);
    log.undo.push_back(Undo{offset, std::move(old)});
  }
};

namespace {

FaultVfs::Impl& impl() {
  static FaultVfs::Impl instance;
  return instance;
}

FaultFile* fault(sqlite3_file* file) {
  return reinterpret_cast<FaultFile*>(file);
}

FileLog* log_of(FaultFile* f) {
  if (f->path_id < 0) return nullptr;
  auto it = impl().files.find(f->path_id);
  return it == impl().files.end() ? nullptr : &it->second;
}

int64_t size_of(sqlite3_file* real) {
  sqlite3_int64 size = 0;
  if (real->pMethods->xFileSize(real, &size) != SQLITE_OK) return 0;
  return size;
}

int x_close(sqlite3_file* file) {
  sqlite3_file* real = fault(file)->real();
  return real->pMethods->xClose(real);
}

int x_read(sqlite3_file* file, void* buffer, int amount, sqlite3_int64 offset) {
  sqlite3_file* real = fault(file)->real();
  return real->pMethods->xRead(real, buffer, amount, offset);
}

int x_write(sqlite3_file* file, const void* buffer, int amount, sqlite3_int64 offset) {
  auto& s = impl();
  std::lock_guard lock(s.mutex);
  FaultFile* f = fault(file);
  if (s.refused(Op::write)) return SQLITE_IOERR_WRITE;
  if (FileLog* log = log_of(f)) FaultVfs::Impl::keep(*log, f->real(), offset, offset + amount);
  return f->real()->pMethods->xWrite(f->real(), buffer, amount, offset);
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  auto& s = impl();
  std::lock_guard lock(s.mutex);
  FaultFile* f = fault(file);
  if (s.refused(Op::truncate)) return SQLITE_IOERR_TRUNCATE;
  if (FileLog* log = log_of(f)) FaultVfs::Impl::keep(*log, f->real(), size, size_of(f->real()));
  return f->real()->pMethods->xTruncate(f->real(), size);
}

int x_sync(sqlite3_file* file, int flags) {
  auto& s = impl();
  std::lock_guard lock(s.mutex);
  FaultFile* f = fault(file);
  if (s.refused(Op::sync)) return SQLITE_IOERR_FSYNC;
  int rc = f->real()->pMethods->xSync(f->real(), flags);
  if (rc != SQLITE_OK) return rc;
  if (FileLog* log = log_of(f)) {
    log->undo.clear();
    log->synced_size = size_of(f->real());
  }
  return SQLITE_OK;
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
  sqlite3_file* real = fault(file)->real();
  return real->pMethods->xFileSize(real, size);
}

int x_lock(sqlite3_file* file, int level) {
  sqlite3_file* real = fault(file)->real();
  return real->pMethods->xLock(real, level);
}

int x_unlock(sqlite3_file* file, int level) {
  sqlite3_file* real = fault(file)->real();
  return real->pMethods->xUnlock(real, level);
}

int x_check_reserved(sqlite3_file* file, int* out) {
  sqlite3_file* real = fault(file)->real();
  return real->pMethods->xCheckReservedLock(real, out);
}

int x_file_control(sqlite3_file* file, int op, void* arg) {
  sqlite3_file* real = fault(file)->real();
  return real->pMethods->xFileControl(real, op, arg);
}

int x_sector_size(sqlite3_file* file) {
  sqlite3_file* real = fault(file)->real();
  return real->pMethods->xSectorSize(real);
}

int x_device_characteristics(sqlite3_file* file) {
  sqlite3_file* real = fault(file)->real();
  return real->pMethods->xDeviceCharacteristics(real);
}

int x_shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  sqlite3_file* real = fault(file)->real();
  return real->pMethods->xShmMap(real, region, size, extend, out);
}

int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  sqlite3_file* real = fault(file)->real();
  return real->pMethods->xShmLock(real, offset, n, flags);
}

void x_shm_barrier(sqlite3_file* file) {
  sqlite3_file* real = fault(file)->real();
  real->pMethods->xShmBarrier(real);
}

int x_shm_unmap(sqlite3_file* file, int delete_flag) {
  sqlite3_file* real = fault(file)->real();
  return real->pMethods->xShmUnmap(real, delete_flag);
}

int x_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  sqlite3_file* real = fault(file)->real();
  return real->pMethods->xFetch(real, offset, amount, out);
}

int x_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  sqlite3_file* real = fault(file)->real();
  return real->pMethods->xUnfetch(real, offset, page);
}

int64_t disk_size(const char* path) {
  struct stat st {};
  return ::stat(path, &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  auto& s = impl();
  FaultFile* f = fault(file);
  f->base.pMethods = nullptr;
  int rc = s.base->xOpen(s.base, name, f->real(), flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  std::lock_guard lock(s.mutex);
  f->path_id = -1;
  if (name != nullptr && (flags & SQLITE_OPEN_DELETEONCLOSE) == 0) {
    f->path_id = s.id_of(name);
    if (!s.files.count(f->path_id)) s.files[f->path_id].synced_size = disk_size(name);
  }
  f->base.pMethods = &s.methods;
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  auto& s = impl();
  std::lock_guard lock(s.mutex);
  if (s.cut) return SQLITE_IOERR_DELETE;
  int rc = s.base->xDelete(s.base, name, sync_dir);
  if (rc == SQLITE_OK) {
    auto it = s.path_ids.find(name);
    if (it != s.path_ids.end()) s.files.erase(it->second);
  }
  return rc;
}

int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return impl().base->xAccess(impl().base, name, flags, out);
}

int x_full_pathname(sqlite3_vfs*, const char* name, int size, char* out) {
  return impl().base->xFullPathname(impl().base, name, size, out);
}

void* x_dl_open(sqlite3_vfs*, const char* name) {
  return impl().base->xDlOpen(impl().base, name);
}

void x_dl_error(sqlite3_vfs*, int size, char* out) {
  impl().base->xDlError(impl().base, size, out);
}

void (*x_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return impl().base->xDlSym(impl().base, handle, symbol);
}

void x_dl_close(sqlite3_vfs*, void* handle) {
  impl().base->xDlClose(impl().base, handle);
}

// Deterministic: the same bytes in every run, so a seed replays the same files.
int x_randomness(sqlite3_vfs*, int size, char* out) {
  for (int i = 0; i < size; ++i) out[i] = static_cast<char>((i * 131 + 17) & 0xff);
  return size;
}

int x_sleep(sqlite3_vfs*, int microseconds) {
  return impl().base->xSleep(impl().base, microseconds);
}

int x_current_time(sqlite3_vfs*, double* out) {
  return impl().base->xCurrentTime(impl().base, out);
}

int x_get_last_error(sqlite3_vfs*, int size, char* out) {
  return impl().base->xGetLastError(impl().base, size, out);
}

int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return impl().base->xCurrentTimeInt64(impl().base, out);
}

}  // namespace

FaultVfs& FaultVfs::install() {
  static FaultVfs vfs;
  static std::once_flag once;
  std::call_once(once, [] {
    auto& s = impl();
    s.base = sqlite3_vfs_find(nullptr);
    LEDGER_ASSERT(s.base != nullptr && s.base->iVersion >= 2, "no default SQLite VFS");
    s.methods = sqlite3_io_methods{3,
                                   x_close,
                                   x_read,
                                   x_write,
                                   x_truncate,
                                   x_sync,
                                   x_file_size,
                                   x_lock,
                                   x_unlock,
                                   x_check_reserved,
                                   x_file_control,
                                   x_sector_size,
                                   x_device_characteristics,
                                   x_shm_map,
                                   x_shm_lock,
                                   x_shm_barrier,
                                   x_shm_unmap,
                                   x_fetch,
                                   x_unfetch};
    sqlite3_vfs& v = s.vfs;
    v.iVersion = 2;
    v.szOsFile = static_cast<int>(sizeof(FaultFile)) + s.base->szOsFile;
    v.mxPathname = s.base->mxPathname;
    v.zName = "escrow-sim-fault";
    v.xOpen = x_open;
    v.xDelete = x_delete;
    v.xAccess = x_access;
    v.xFullPathname = x_full_pathname;
    v.xDlOpen = x_dl_open;
    v.xDlError = x_dl_error;
    v.xDlSym = x_dl_sym;
    v.xDlClose = x_dl_close;
    v.xRandomness = x_randomness;
    v.xSleep = x_sleep;
    v.xCurrentTime = x_current_time;
    v.xGetLastError = x_get_last_error;
    v.xCurrentTimeInt64 = x_current_time_int64;
    LEDGER_ASSERT(sqlite3_vfs_register(&v, 1) == SQLITE_OK, "cannot register the fault VFS");
  });
  return vfs;
}

FaultVfs::Counts FaultVfs::counts() const {
  std::lock_guard lock(impl().mutex);
  return impl().counts;
}

void FaultVfs::fail_at(uint64_t operation) {
  std::lock_guard lock(impl().mutex);
  impl().fail_at = operation;
}

void FaultVfs::cut_at(uint64_t operation) {
  std::lock_guard lock(impl().mutex);
  impl().cut_at = operation;
}

bool FaultVfs::is_cut() const {
  std::lock_guard lock(impl().mutex);
  return impl().cut;
}

void FaultVfs::lose_unsynced() {
  auto& s = impl();
  std::lock_guard lock(s.mutex);
  for (auto& [id, log] : s.files) {
    const std::string& path = s.paths[static_cast<size_t>(id)];
    int fd = ::open(path.c_str(), O_RDWR);
    if (fd < 0) continue;  // deleted since: deletes are durable
    for (auto it = log.undo.rbegin(); it != log.undo.rend(); ++it) {
      ssize_t written = ::pwrite(fd, it->bytes.data(), it->bytes.size(), it->offset);
      LEDGER_ASSERT(written == static_cast<ssize_t>(it->bytes.size()), "restore write failed");
    }
    LEDGER_ASSERT(::ftruncate(fd, log.synced_size) == 0, "restore truncate failed");
    ::close(fd);
    log.undo.clear();
  }
}

void FaultVfs::heal() {
  auto& s = impl();
  std::lock_guard lock(s.mutex);
  s.counts = {};
  s.fail_at.reset();
  s.cut_at.reset();
  s.cut = false;
}

}  // namespace escrow::sim
