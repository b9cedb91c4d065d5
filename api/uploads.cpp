// Proof uploads: blob store, sniffing, request parsing; see uploads.h for the contract.
#include "api/uploads.h"

#include <fcntl.h>
#include <magic.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

#include "api/multipart.h"
#include "ledger/hash.h"
#include "ledger/text.h"

namespace escrow::api {

namespace {

Status io_error(std::string_view what, const std::string& path, int error) {
  return Status(StatusCode::io_error,
                "blob store: " + std::string(what) + " " + path + ": " + std::strerror(error));
}

// Closes a file descriptor on every path out of a function.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Status write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) return io_error("cannot write", path, errno);
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return Status::ok();
}

Status fsync_dir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return io_error("cannot open", dir, errno);
  if (::fsync(fd.get()) != 0) return io_error("cannot fsync", dir, errno);
  return Status::ok();
}

// Writes `bytes` to `path` through a temporary file: the file appears whole or not at all.
Status write_atomically(const std::string& dir, const std::string& path, std::string_view bytes) {
  static std::atomic<uint64_t> counter{0};
  std::string temp =
      dir + "/.tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
  if (fd.get() < 0) return io_error("cannot create", temp, errno);
  Status status = write_all(fd.get(), bytes, temp);
  if (status.is_ok() && ::fsync(fd.get()) != 0) status = io_error("cannot fsync", temp, errno);
  if (status.is_ok() && ::close(fd.release()) != 0) status = io_error("cannot close", temp, errno);
  if (status.is_ok() && ::rename(temp.c_str(), path.c_str()) != 0)
    status = io_error("cannot rename into", path, errno);
  if (!status.is_ok()) {
    ::unlink(temp.c_str());
    return status;
  }
  return fsync_dir(dir);
}

// Length of the valid UTF-8 sequence at text[i], 0 if there is none (overlong forms,
// surrogates and code points past U+10FFFF are invalid).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char b = byte(i);
  if (b < 0x80) return 1;
  std::size_t length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 ? 2 : 0;
  if (length == 0 || b > 0xf4 || i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  }
  unsigned char second = byte(i + 1);
  if (b == 0xe0 && second < 0xa0) return 0;  // overlong
  if (b == 0xed && second > 0x9f) return 0;  // surrogate
  if (b == 0xf0 && second < 0x90) return 0;  // overlong
  if (b == 0xf4 && second > 0x8f) return 0;  // past U+10FFFF
  return length;
}

bool valid_utf8_text(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    std::size_t length = utf8_sequence_length(text, i);
    if (length == 0 || text[i] == '\0') return false;
    i += length;
  }
  return true;
}

// One libmagic handle per thread: a magic_t is not safe to share.
class MagicHandle {
 public:
  MagicHandle() : magic_(::magic_open(MAGIC_MIME_TYPE)) {
    if (magic_ && ::magic_load(magic_, nullptr) != 0) {
      ::magic_close(magic_);
      magic_ = nullptr;
    }
  }
  ~MagicHandle() {
    if (magic_) ::magic_close(magic_);
  }
  MagicHandle(const MagicHandle&) = delete;
  MagicHandle& operator=(const MagicHandle&) = delete;
  magic_t get() const { return magic_; }

 private:
  magic_t magic_;
};

// A caller's field name, safe to quote back: printable ASCII, at most 64 bytes.
std::string field_label(std::string_view name) {
  std::string label(name.substr(0, 64));
  for (char& c : label) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '_';
  }
  return label;
}

HttpResponse invalid_field(std::string_view field, std::string_view expectation) {
  return error_response(
      400, "invalid_field",
      "Field `" + std::string(field) + "` must be " + std::string(expectation) + ".");
}

std::optional<HttpResponse> check_notes(std::string_view notes) {
  if (notes.empty() || notes.size() > proof_notes_bytes_max || !valid_utf8_text(notes))
    return invalid_field("notes", "present: non-empty UTF-8 text of at most " +
                                      std::to_string(proof_notes_bytes_max) + " bytes");
  return std::nullopt;
}

// An absolute http(s) URL of printable ASCII with a host.
bool attachment_url_valid(std::string_view url) {
  if (url.size() > proof_attachment_url_bytes_max) return false;
  bool printable = std::all_of(url.begin(), url.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
  std::string lower = ascii_lower(url.substr(0, 8));
  std::size_t scheme = lower.starts_with("https://") ? 8 : lower.starts_with("http://") ? 7 : 0;
  if (!printable || scheme == 0) return false;
  std::size_t host_end = url.find_first_of("/?#", scheme);
  std::string_view authority = url.substr(scheme, host_end - scheme);
  return !authority.empty() && authority.find('@') == std::string_view::npos;
}

struct FileUpload {
  std::string name;
  std::string content_type;  // sniffed
  std::string_view data;
};

// Checks every file before any is stored.
HttpResult<std::vector<FileUpload>> check_files(const std::vector<const Part*>& parts) {
  if (parts.size() > static_cast<std::size_t>(proof_files_max))
    return rejection_response(Rejection::too_many_files);
  std::vector<FileUpload> files;
  for (const Part* part : parts) {
    FileUpload file;
    file.name =
        sanitize_file_name(part->filename.value_or(""), "file-" + std::to_string(files.size() + 1));
    file.data = part->data;
    if (file.data.empty())
      return error_response(400, "invalid_field", "File `" + file.name + "` is empty.");
    if (file.data.size() > static_cast<std::size_t>(proof_file_bytes_max))
      return error_response(413, "file_too_large",
                            "File `" + file.name + "` is larger than " +
                                std::to_string(proof_file_bytes_max) + " bytes.");
    file.content_type = sniff_content_type(file.data);
    if (!is_accepted_proof_type(file.content_type))
      return error_response(415, "unsupported_file_type",
                            "File `" + file.name + "` is not a JPEG, PNG, WebP or PDF file.");
    files.push_back(std::move(file));
  }
  return files;
}

HttpResult<SubmitProof> parse_multipart_proof(const HttpRequest& request,
                                              std::string_view content_type, BlobStore& blobs) {
  MultipartLimits limits;
  limits.body_bytes_max = proof_upload_bytes_max;
  HttpResult<std::vector<Part>> parts = parse_multipart(content_type, request.body, limits);
  if (!parts.is_ok()) return std::move(parts).error();
  std::optional<std::string_view> notes;
  std::vector<const Part*> file_parts;
  for (const Part& part : parts.value()) {
    if (part.name == "notes") {
      if (notes || part.filename) return invalid_field("notes", "one text field");
      notes = part.data;
    } else if (part.name == "files" || part.name == "file") {
      bool empty_input = part.filename && part.filename->empty() && part.data.empty();
      if (!empty_input) file_parts.push_back(&part);
    } else {
      return invalid_field(field_label(part.name),
                           "absent: the form holds `notes` and `files` only");
    }
  }
  if (auto bad = check_notes(notes.value_or(""))) return *bad;
  HttpResult<std::vector<FileUpload>> files = check_files(file_parts);
  if (!files.is_ok()) return std::move(files).error();

  SubmitProof proof;
  proof.notes = std::string(*notes);
  for (const FileUpload& file : files.value()) {
    Result<std::string> sha256 = blobs.put(file.data);
    if (!sha256.is_ok())
      return error_response(500, "internal_error", "An uploaded file could not be stored.");
    proof.files.push_back(ProofFile{std::move(sha256.value()), file.content_type, file.name,
                                    static_cast<int64_t>(file.data.size())});
  }
  return proof;
}

HttpResult<std::vector<ProofLink>> read_attachments(const rapidjson::Value& body) {
  std::vector<ProofLink> links;
  auto member = body.FindMember("attachments");
  if (member == body.MemberEnd() || member->value.IsNull()) return links;
  const rapidjson::Value& list = member->value;
  const std::string expectation = "a list of at most " + std::to_string(proof_attachments_max) +
                                  " objects {\"url\": an http(s) URL of at most " +
                                  std::to_string(proof_attachment_url_bytes_max) + " bytes}";
  if (!list.IsArray() || list.Size() > proof_attachments_max)
    return invalid_field("attachments", expectation);
  for (const rapidjson::Value& item : list.GetArray()) {
    if (!item.IsObject() || item.MemberCount() != 1 || !item.HasMember("url") ||
        !item["url"].IsString())
      return invalid_field("attachments", expectation);
    std::string_view url(item["url"].GetString(), item["url"].GetStringLength());
    if (!attachment_url_valid(url)) return invalid_field("attachments", expectation);
    links.push_back(ProofLink{std::string(url)});
  }
  return links;
}

HttpResult<SubmitProof> parse_json_proof(const HttpRequest& request) {
  HttpResult<rapidjson::Document> body = parse_json_body(request);
  if (!body.is_ok()) return std::move(body).error();
  const rapidjson::Document& document = body.value();
  for (const auto& member : document.GetObject()) {
    std::string_view name(member.name.GetString(), member.name.GetStringLength());
    if (name != "notes" && name != "attachments")
      return invalid_field(field_label(name),
                           "absent: the body holds `notes` and `attachments` only");
  }
  BodyReader in(document);
  SubmitProof proof;
  proof.notes = in.required_string("notes", proof_notes_bytes_max);
  if (!in.ok()) return in.error();
  if (auto bad = check_notes(proof.notes)) return *bad;
  HttpResult<std::vector<ProofLink>> links = read_attachments(document);
  if (!links.is_ok()) return std::move(links).error();
  proof.attachments = std::move(links).value();
  return proof;
}

}  // namespace

// ---- blob store ------------------------------------------------------------------------------

Result<std::unique_ptr<BlobStore>> BlobStore::open(std::string dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir, ec))
    return Status(StatusCode::io_error, "blob store: cannot create directory " + dir);
  return std::unique_ptr<BlobStore>(new BlobStore(std::move(dir)));
}

bool is_sha256_hex(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string BlobStore::path_of(std::string_view sha256) const {
  return dir_ + "/" + std::string(sha256.substr(0, 2)) + "/" + std::string(sha256);
}

Result<std::string> BlobStore::put(std::string_view bytes) {
  std::string sha256 = sha256_hex(bytes);
  std::string path = path_of(sha256);
  struct stat existing {};
  if (::stat(path.c_str(), &existing) == 0 &&
      static_cast<std::size_t>(existing.st_size) == bytes.size())
    return sha256;  // content-addressed: the same name holds the same bytes
  std::string subdir = dir_ + "/" + sha256.substr(0, 2);
  if (::mkdir(subdir.c_str(), 0750) == 0) {
    Status status = fsync_dir(dir_);
    if (!status.is_ok()) return status;
  } else if (errno != EEXIST) {
    return io_error("cannot create", subdir, errno);
  }
  Status status = write_atomically(subdir, path, bytes);
  if (!status.is_ok()) return status;
  return sha256;
}

Result<std::optional<std::string>> BlobStore::get(std::string_view sha256) const {
  if (!is_sha256_hex(sha256))
    return Status(StatusCode::invalid_argument, "blob store: not a lowercase SHA-256 hex digest");
  std::string path = path_of(sha256);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return io_error("cannot open", path, errno);
  }
  std::string bytes;
  char buffer[64 * 1024];
  for (;;) {
    ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return io_error("cannot read", path, errno);
    if (got == 0) break;
    bytes.append(buffer, static_cast<std::size_t>(got));
  }
  return std::optional<std::string>(std::move(bytes));
}

// ---- sniffing and names ----------------------------------------------------------------------

std::string sniff_content_type(std::string_view bytes) {
  thread_local MagicHandle handle;
  if (!handle.get()) return {};
  const char* type = ::magic_buffer(handle.get(), bytes.data(), bytes.size());
  return type ? std::string(type) : std::string();
}

bool is_accepted_proof_type(std::string_view content_type) {
  return content_type == "image/jpeg" || content_type == "image/png" ||
         content_type == "image/webp" || content_type == "application/pdf";
}

std::string sanitize_file_name(std::string_view name, std::string_view fallback) {
  std::size_t slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  std::string clean;
  for (std::size_t i = 0; i < name.size();) {
    std::size_t length = utf8_sequence_length(name, i);
    auto c = static_cast<unsigned char>(name[i]);
    bool replace = length == 0 || c < 0x20 || c == 0x7f || c == '"';
    if (replace) {
      clean.push_back('_');
      i += 1;
    } else {
      clean.append(name.substr(i, length));
      i += length;
    }
  }
  // No hidden files and no "." or "..": leading dots and spaces go, trailing spaces too.
  std::size_t first = clean.find_first_not_of(". ");
  clean = first == std::string::npos ? std::string() : clean.substr(first);
  while (!clean.empty() && clean.back() == ' ') clean.pop_back();
  if (clean.size() > proof_file_name_bytes_max) {
    std::size_t cut = proof_file_name_bytes_max;
    while (cut > 0 && (static_cast<unsigned char>(clean[cut]) & 0xc0) == 0x80) --cut;
    clean.resize(cut);
  }
  return clean.empty() ? std::string(fallback) : clean;
}

// ---- the request -----------------------------------------------------------------------------

HttpResult<SubmitProof> parse_proof_request(const HttpRequest& request, BlobStore& blobs) {
  std::string_view content_type = request.headers.get("Content-Type").value_or("");
  std::optional<HeaderValue> media = parse_header_value(content_type);
  if (media && media->value == "multipart/form-data")
    return parse_multipart_proof(request, content_type, blobs);
  if (media && media->value == "application/json") return parse_json_proof(request);
  return error_response(415, "unsupported_media_type",
                        "The body must be multipart/form-data or application/json.");
}

}  // namespace escrow::api
