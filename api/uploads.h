// Proof of completion uploads (DESIGN rule 3): the content-addressed blob store that keeps the
// files, the content sniffing that decides what a file is, and the parser that turns a
// `POST /bookings/:id/complete` request into a SubmitProof command.
//
// Files are typed by their bytes (libmagic), never by the declared Content-Type or the file
// name: only JPEG, PNG, WebP and PDF are accepted. A request is checked entirely (counts, sizes,
// types, notes, links) before the first file is stored, so a refused request stores nothing.
// Files are stored before the command runs; if the command is then refused (a dispute opened
// meanwhile, proof already submitted) the stored blobs are orphans. That is harmless: a blob is
// named by its content, so it is never wrong, and storing it again is a no-op.
//
// Thread-safety: BlobStore::put/get and parse_proof_request may be called from many threads at
// once (each thread has its own libmagic handle).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/http.h"
#include "ledger/decider.h"
#include "ledger/status.h"

namespace escrow::api {

inline constexpr std::size_t proof_upload_bytes_max = 50u * 1024 * 1024;
inline constexpr std::size_t proof_notes_bytes_max = 5000;
inline constexpr std::size_t proof_file_name_bytes_max = 200;
inline constexpr std::size_t proof_attachments_max = 10;
inline constexpr std::size_t proof_attachment_url_bytes_max = 2048;

// Files named by the lowercase hex SHA-256 of their content: `<dir>/<first two hex>/<hash>`.
// A put writes a temporary file in the same directory, fsyncs it, renames it into place and
// fsyncs the directory, so a crash leaves either the whole file or none (a stray temporary file
// at worst, named `.tmp-*`). Putting the same bytes twice is a no-op.
class BlobStore {
 public:
  // Creates `dir` (and its parents) if missing.
  static Result<std::unique_ptr<BlobStore>> open(std::string dir);

  // The hash of `bytes`, once they are durably stored.
  Result<std::string> put(std::string_view bytes);
  // The stored bytes, or nullopt when there are none. Anything but 64 lowercase hex digits is
  // invalid_argument: a caller's string never becomes a path.
  Result<std::optional<std::string>> get(std::string_view sha256) const;

  const std::string& dir() const { return dir_; }

 private:
  explicit BlobStore(std::string dir) : dir_(std::move(dir)) {}
  std::string path_of(std::string_view sha256) const;
  std::string dir_;
};

bool is_sha256_hex(std::string_view text);

// The MIME type libmagic reads in `bytes` ("image/png", "text/plain", ...); empty if it cannot
// say.
std::string sniff_content_type(std::string_view bytes);
// image/jpeg, image/png, image/webp, application/pdf.
bool is_accepted_proof_type(std::string_view content_type);

// A file name safe to store and show: the last path component, control characters and invalid
// UTF-8 replaced, at most proof_file_name_bytes_max bytes; `fallback` when nothing is left.
std::string sanitize_file_name(std::string_view name, std::string_view fallback);

// The body of POST /bookings/:id/complete:
// - multipart/form-data: one `notes` field and file parts named `files` or `file` (a part with an
//   empty file name and no bytes, which a browser sends for an empty file input, is skipped);
// - application/json: {"notes": "...", "attachments": [{"url": "https://..."}]}.
// notes: required, non-empty, at most proof_notes_bytes_max bytes of UTF-8. Files: at most
// proof_files_max (400 too_many_files), each non-empty and at most proof_file_bytes_max (413
// file_too_large), all together at most proof_upload_bytes_max (413 body_too_large), each of an
// accepted type (415 unsupported_file_type naming the file). Attachments: at most
// proof_attachments_max http(s) URLs of at most proof_attachment_url_bytes_max bytes. Other
// fields are refused (400 invalid_field). Storage failures are 500 internal_error.
HttpResult<SubmitProof> parse_proof_request(const HttpRequest& request, BlobStore& blobs);

}  // namespace escrow::api
