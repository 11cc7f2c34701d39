// hearth/finish.h: why a generation ended. One type for every layer: the decode step (runtime/decode.h),
// the request-level engines (engine/engine.h) and what the CLI and the server report.
#pragma once

namespace hearth {

enum class Finish {
    Stop,        // an end-of-generation token (end of turn, EOS)
    StopString,  // one of the request's stop strings appeared (it and what follows are not shown)
    Length,      // the request's token limit
    ContextFull, // the context has no room for another token
    Cancelled,   // the caller stopped it
};

// The API name: "stop" (both stops), "length" (context full too: a length stop), "cancelled".
inline const char* finish_name(Finish f) {
    switch (f) {
    case Finish::Stop:
    case Finish::StopString:
        return "stop";
    case Finish::Length:
    case Finish::ContextFull:
        return "length";
    case Finish::Cancelled:
        return "cancelled";
    }
    return "stop";
}

// For people: "end of turn", "stop string", "length limit", "context full", "cancelled".
inline const char* finish_description(Finish f) {
    switch (f) {
    case Finish::Stop:
        return "end of turn";
    case Finish::StopString:
        return "stop string";
    case Finish::Length:
        return "length limit";
    case Finish::ContextFull:
        return "context full";
    case Finish::Cancelled:
        return "cancelled";
    }
    return "?";
}

} // namespace hearth
