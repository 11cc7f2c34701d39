// upstream/sse.cpp: the SSE line and field rules (see sse.h).
#include "upstream/sse.h"

namespace hearth::upstream {

Status SseParser::feed(std::string_view bytes, std::vector<SseEvent>& out) {
    while (!bytes.empty() && error_.is_ok() && !done_) {
        if (after_cr_) {
            after_cr_ = false;
            if (bytes.front() == '\n') {
                bytes.remove_prefix(1);
                continue;
            }
        }
        const size_t eol = bytes.find_first_of("\r\n");
        const std::string_view part = bytes.substr(0, eol);
        if (line_.size() + part.size() > max_line_) {
            error_ =
                error(Code::Upstream, "an event-stream line is longer than " + std::to_string(max_line_) + " bytes");
            break;
        }
        line_.append(part);
        if (eol == std::string_view::npos) break;
        after_cr_ = bytes[eol] == '\r';
        bytes.remove_prefix(eol + 1);
        error_ = take_line(out);
    }
    return error_;
}

Status SseParser::take_line(std::vector<SseEvent>& out) {
    std::string_view line = line_;
    if (first_line_ && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    first_line_ = false;
    Status st;
    if (line.empty()) { // dispatch
        if (has_data_) {
            if (pending_.data == "[DONE]") {
                done_ = true;
            } else {
                out.push_back(pending_);
            }
        }
        pending_.event.clear();
        pending_.data.clear();
        has_data_ = false;
    } else if (line.front() != ':') { // not a comment
        const size_t colon = line.find(':');
        const std::string_view name = line.substr(0, colon);
        std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
        if (value.starts_with(' ')) value.remove_prefix(1);
        if (name == "data") {
            if (pending_.data.size() + value.size() + 1 > max_line_) {
                st = error(Code::Upstream,
                           "an event-stream event carries more than " + std::to_string(max_line_) + " bytes of data");
            } else {
                if (has_data_) pending_.data += '\n';
                pending_.data.append(value);
                has_data_ = true;
            }
        } else if (name == "event") {
            pending_.event.assign(value);
        } else if (name == "id" && value.find('\0') == std::string_view::npos) {
            pending_.id.assign(value);
        }
    }
    line_.clear();
    return st;
}

} // namespace hearth::upstream
