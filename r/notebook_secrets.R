# Read secrets kept by Notebook Secrets from an R notebook cell (IRkernel).
#
#     key <- get_secret("OPENAI_API_KEY")
#     httr::add_headers(Authorization = paste("Bearer", key))
#
# The value never has to be written in the notebook. This file is base R only (R 3.5+). It is
# injected into an R kernel by the Notebook Secrets VS Code extension, together with the broker's
# loopback endpoint and a token valid for this kernel only; it never receives values other than
# the ones a cell asks for, and never prints them.
#
# Two transports:
# - the broker: HTTP/1.1 on 127.0.0.1 with a bearer token, one kept-alive connection (base R has
#   no Unix sockets, so the broker opens a loopback TCP listener for R kernels);
# - in band, for kernels on another machine: a custom IOPub message that the connected client
#   answers with an `input_reply` on the stdin channel (see src/core/brokerProtocol.ts). IRkernel
#   has no API for this; the helper uses its executor and its stdin socket (through pbdZMQ, which
#   IRkernel depends on), tested with IRkernel 1.3.2. Several clients may be attached to one
#   kernel: each injection adds its token and is asked first; a request no client acknowledges
#   within a second is sent again with the next token known, so an earlier client that is still
#   attached takes over when the newest one leaves.
#
# The injected code evaluates this file in an environment attached to the search path as
# "notebook_secrets", so get_secret and get_secret_raw are visible in every cell without living in
# the global environment. Re-evaluating it (a newer helper) keeps the state below.

.ns <- environment()

if (!exists(".state", envir = .ns, inherits = FALSE)) {
  .state <- new.env(parent = emptyenv())
  .state$endpoint <- NULL
  .state$token <- NULL
  .state$con <- NULL
  .state$redact <- TRUE
  .state$served <- list() # name -> value (character or raw), for redaction
  .state$forms <- character(0) # encoded form -> name, longest first
  .state$hooked <- FALSE
  .state$inband <- FALSE
  .state$requests <- 0L
}
# Added by later versions of this file: a kernel that ran an earlier one gets them here.
if (is.null(.state$inband_tokens)) .state$inband_tokens <- character(0)
if (is.null(.state$held)) .state$held <- list()

.NAME_RE <- "^[A-Za-z_][A-Za-z0-9_]*$"
.MAX_NAME <- 128L
.SCOPES <- c("personal", "project", "team")
# Values shorter than this are not redacted, or every "1234" in an output would be replaced.
.REDACT_MIN_LEN <- 6L
# A stream write that ends with the start of a value is held back, waiting for the rest, at most
# this many characters (and at most until the kernel sends anything else, e.g. the cell's end).
.REDACT_HOLD_MAX <- 4096L
# In band, the tokens of this many injections are kept (see .configure).
.INBAND_MAX_TOKENS <- 4L
.ENABLE_HINT <- paste(
  "In VS Code run 'Notebook Secrets: Enable get_secret for this notebook';",
  "outside VS Code run `notebook-secrets attach --jupyter URL --token T`."
)

# ---------------------------------------------------------------------------------------------
# Conditions, mirroring the Python helper's exceptions

.condition <- function(classes, message) {
  structure(
    class = c(classes, "NotebookSecretsError", "error", "condition"),
    list(message = message, call = NULL)
  )
}

.stop_not_found <- function(message) stop(.condition("SecretNotFoundError", message))
.stop_access <- function(message) stop(.condition("SecretAccessError", message))
.stop_unavailable <- function(message) stop(.condition("SecretsUnavailableError", message))
.stop_too_large <- function(message) {
  stop(.condition(c("SecretTooLargeError", "SecretsUnavailableError"), message))
}

# ---------------------------------------------------------------------------------------------
# Configuration (called by the injected code; not part of the API)

.configure <- function(token, endpoint = NULL, inband = FALSE, redact = NULL) {
  if (!is.character(token) || length(token) != 1L || !nzchar(token)) stop("a token is required")
  .close_connection()
  .state$token <- token
  .state$endpoint <- endpoint
  # A client that answered in band before stays the fallback when a later injection names a
  # broker.
  .state$inband <- isTRUE(inband) || length(.state$inband_tokens) > 0L
  # Several clients may be attached to one kernel, each answering only the tokens it issued: the
  # newest injection is asked first, and earlier ones take over when it no longer answers.
  if (.state$inband) {
    .state$inband_tokens <- utils::head(
      unique(c(token, .state$inband_tokens)), .INBAND_MAX_TOKENS
    )
  }
  if (!is.null(redact)) redact_outputs(redact)
  .hook_outputs()
  invisible(NULL)
}

.close_connection <- function() {
  con <- .state$con
  .state$con <- NULL
  if (!is.null(con)) try(close(con), silent = TRUE)
}

# ---------------------------------------------------------------------------------------------
# A minimal JSON reader for the broker's answers (objects, arrays, strings, numbers, literals)

# No closures are created per call: R compiles each new closure before its first use, which
# would cost more than the parse itself.
.JSON_TOKEN <- '"(?:[^"\\\\]|\\\\.)*"|-?[0-9][0-9.eE+-]*|true|false|null|[][{}:,]'

# The broker's usual answer, read by its fixed start and end (the general reader below costs
# more than the round trip to the broker).
.ANSWER_HEAD <- '{"value":"'
.ANSWER_TAILS <- c(text = '","encoding":"text"}', base64 = '","encoding":"base64"}')

.parse_answer <- function(text) {
  if (startsWith(text, .ANSWER_HEAD)) {
    for (encoding in names(.ANSWER_TAILS)) {
      tail <- .ANSWER_TAILS[[encoding]]
      if (endsWith(text, tail)) {
        inner <- substr(text, nchar(.ANSWER_HEAD) + 1L, nchar(text) - nchar(tail))
        # Only when the value holds no unescaped quote (a JSON string cannot end early).
        if (!grepl('(^|[^\\\\])(\\\\\\\\)*"', inner, perl = TRUE)) {
          return(list(value = .json_string(paste0('"', inner, '"')), encoding = encoding))
        }
      }
    }
  }
  .json_parse(text)
}

.json_parse <- function(text) {
  reader <- new.env(parent = emptyenv())
  reader$tokens <- regmatches(text, gregexpr(.JSON_TOKEN, text, perl = TRUE))[[1]]
  reader$pos <- 1L
  .json_value(reader)
}

.json_next <- function(reader) {
  tok <- reader$tokens[reader$pos]
  reader$pos <- reader$pos + 1L
  if (is.na(tok)) stop("truncated JSON")
  tok
}

.json_value <- function(reader) {
  tok <- .json_next(reader)
  if (tok == "{") {
    out <- list()
    if (identical(reader$tokens[reader$pos], "}")) {
      reader$pos <- reader$pos + 1L
      return(out)
    }
    repeat {
      key <- .json_string(.json_next(reader))
      if (!identical(.json_next(reader), ":")) stop("malformed JSON")
      out[key] <- list(.json_value(reader))
      sep <- .json_next(reader)
      if (sep == "}") return(out)
      if (sep != ",") stop("malformed JSON")
    }
  }
  if (tok == "[") {
    out <- list()
    if (identical(reader$tokens[reader$pos], "]")) {
      reader$pos <- reader$pos + 1L
      return(out)
    }
    repeat {
      out[[length(out) + 1L]] <- .json_value(reader)
      sep <- .json_next(reader)
      if (sep == "]") return(out)
      if (sep != ",") stop("malformed JSON")
    }
  }
  if (startsWith(tok, '"')) return(.json_string(tok))
  if (tok == "true") return(TRUE)
  if (tok == "false") return(FALSE)
  if (tok == "null") return(NULL)
  as.numeric(tok)
}

.json_string <- function(tok) {
  if (is.na(tok) || !startsWith(tok, '"')) stop("malformed JSON")
  body <- substr(tok, 2L, nchar(tok) - 1L)
  if (!grepl("\\", body, fixed = TRUE)) return(body)
  parts <- regmatches(
    body,
    gregexpr("\\\\u[dD][89abAB][0-9a-fA-F]{2}\\\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\\\u[0-9a-fA-F]{4}|\\\\.|[^\\\\]+",
      body,
      perl = TRUE
    )
  )[[1]]
  simple <- c(
    '\\"' = '"', "\\\\" = "\\", "\\/" = "/", "\\b" = "\b", "\\f" = "\f", "\\n" = "\n",
    "\\r" = "\r", "\\t" = "\t"
  )
  decoded <- vapply(parts, function(p) {
    if (!startsWith(p, "\\")) return(p)
    if (!is.na(simple[p])) return(unname(simple[p]))
    if (nchar(p) == 12L) {
      hi <- strtoi(substr(p, 3L, 6L), 16L)
      lo <- strtoi(substr(p, 9L, 12L), 16L)
      return(intToUtf8(0x10000 + (hi - 0xD800) * 0x400 + (lo - 0xDC00)))
    }
    code <- strtoi(substr(p, 3L, 6L), 16L)
    # A lone surrogate cannot be represented in UTF-8: U+FFFD, as Python's replace handler does.
    if (code >= 0xD800 && code <= 0xDFFF) code <- 0xFFFD
    intToUtf8(code)
  }, "", USE.NAMES = FALSE)
  out <- paste(decoded, collapse = "")
  Encoding(out) <- "UTF-8"
  out
}

# ---------------------------------------------------------------------------------------------
# Base64 (file secrets arrive base64-encoded)

.B64 <- c(LETTERS, letters, as.character(0:9), "+", "/")

.base64_decode <- function(text) {
  text <- gsub("[\r\n]", "", text)
  if (!nzchar(text)) return(raw(0))
  if (nchar(text) %% 4L != 0L || !grepl("^[A-Za-z0-9+/]*={0,2}$", text)) {
    stop("not base64")
  }
  pad <- nchar(sub("^[^=]*", "", text))
  chars <- strsplit(sub("=+$", "", text), "", fixed = TRUE)[[1]]
  bits <- match(chars, .B64) - 1L
  n <- length(bits)
  bits <- c(bits, rep(0L, (4L - n %% 4L) %% 4L))
  m <- matrix(bits, nrow = 4L)
  b1 <- bitwOr(bitwShiftL(m[1L, ], 2L), bitwShiftR(m[2L, ], 4L))
  b2 <- bitwAnd(bitwOr(bitwShiftL(m[2L, ], 4L), bitwShiftR(m[3L, ], 2L)), 255L)
  b3 <- bitwAnd(bitwOr(bitwShiftL(m[3L, ], 6L), m[4L, ]), 255L)
  out <- as.vector(rbind(b1, b2, b3))
  as.raw(out[seq_len(length(out) - pad)])
}

.base64_encode <- function(bytes) {
  n <- length(bytes)
  if (n == 0L) return("")
  v <- as.integer(bytes)
  pad <- (3L - n %% 3L) %% 3L
  v <- c(v, rep(0L, pad))
  m <- matrix(v, nrow = 3L)
  i1 <- bitwShiftR(m[1L, ], 2L)
  i2 <- bitwOr(bitwShiftL(bitwAnd(m[1L, ], 3L), 4L), bitwShiftR(m[2L, ], 4L))
  i3 <- bitwOr(bitwShiftL(bitwAnd(m[2L, ], 15L), 2L), bitwShiftR(m[3L, ], 6L))
  i4 <- bitwAnd(m[3L, ], 63L)
  chars <- .B64[as.vector(rbind(i1, i2, i3, i4)) + 1L]
  if (pad > 0L) chars[(length(chars) - pad + 1L):length(chars)] <- "="
  paste(chars, collapse = "")
}

# ---------------------------------------------------------------------------------------------
# The broker: HTTP/1.1 over 127.0.0.1, one kept-alive connection

.connect <- function() {
  ep <- .state$endpoint
  m <- regmatches(ep, regexec("^http://([0-9.]+|localhost):([0-9]+)/?$", ep))[[1]]
  if (length(m) != 3L) .stop_unavailable(paste("Unsupported broker endpoint.", .ENABLE_HINT))
  con <- tryCatch(
    suppressWarnings(socketConnection(
      host = m[2L], port = as.integer(m[3L]), blocking = TRUE, open = "r+b", timeout = 330
    )),
    error = function(e) NULL
  )
  if (is.null(con)) .broker_gone()
  attr(con, "host") <- paste0(m[2L], ":", m[3L])
  con
}

.broker_gone <- function() {
  .stop_unavailable(paste(
    "The Notebook Secrets broker is not reachable from this kernel: VS Code was closed or the",
    "extension restarted (reopen the notebook in VS Code and run 'Notebook Secrets: Enable",
    "get_secret for this notebook' again), or the kernel runs on another machine (connect its",
    "server with 'Notebook Secrets: Add Jupyter Server...' or `notebook-secrets attach`)."
  ))
}

# One exchange on `con`: the status, the headers (lower-case names) and the body's text.
.exchange <- function(con, body) {
  payload <- charToRaw(enc2utf8(body))
  head <- paste0(
    "POST /v1/secret HTTP/1.1\r\n",
    "Host: ", attr(con, "host"), "\r\n",
    "Authorization: Bearer ", .state$token, "\r\n",
    "Content-Type: application/json\r\n",
    "Content-Length: ", length(payload), "\r\n",
    "Connection: keep-alive\r\n\r\n"
  )
  writeBin(c(charToRaw(head), payload), con)
  flush(con)
  status_line <- readLines(con, n = 1L, warn = FALSE)
  if (length(status_line) == 0L) stop("connection closed")
  status <- as.integer(strsplit(status_line, " ", fixed = TRUE)[[1]][2L])
  lines <- character(0)
  repeat {
    line <- readLines(con, n = 1L, warn = FALSE)
    if (length(line) == 0L) stop("connection closed")
    if (line == "\r" || line == "") break
    lines <- c(lines, line)
  }
  colon <- regexpr(":", lines, fixed = TRUE)
  headers <- as.list(trimws(substring(lines, colon + 1L)))
  names(headers) <- tolower(substring(lines, 1L, colon - 1L))
  length_header <- headers[["content-length"]]
  if (is.null(length_header)) stop("no Content-Length")
  size <- as.integer(length_header)
  data <- if (size > 0L) readBin(con, "raw", n = size) else raw(0)
  if (length(data) != size) stop("connection closed")
  text <- rawToChar(data)
  Encoding(text) <- "UTF-8"
  list(status = status, headers = headers, body = text)
}

.request <- function(body) {
  if (is.null(.state$token)) {
    .stop_unavailable(paste(
      "get_secret is not enabled in this kernel (or the kernel restarted since).", .ENABLE_HINT
    ))
  }
  if (is.null(.state$endpoint)) {
    .stop_unavailable(paste(
      "This R kernel has no route to Notebook Secrets: R kernels read secrets through the broker",
      "on their own machine (127.0.0.1), or in band from IRkernel. Connect its Jupyter server",
      "with 'Notebook Secrets: Add Jupyter Server...' or `notebook-secrets attach`."
    ))
  }
  throttled_until <- NULL
  retried <- FALSE
  repeat {
    fresh <- is.null(.state$con)
    if (fresh) .state$con <- .connect()
    answer <- tryCatch(.exchange(.state$con, body), error = function(e) NULL)
    if (is.null(answer)) {
      .close_connection()
      # A kept-alive connection the broker closed while idle: reconnect once.
      if (fresh || retried) .broker_gone()
      retried <- TRUE
      next
    }
    if (identical(tolower(answer$headers[["connection"]] %||% ""), "close")) .close_connection()
    if (answer$status == 429L && is.null(throttled_until)) throttled_until <- Sys.time() + 30
    if (answer$status == 429L && Sys.time() < throttled_until) {
      wait <- suppressWarnings(as.numeric(answer$headers[["retry-after"]] %||% "0.05"))
      if (is.na(wait)) wait <- 0.05
      Sys.sleep(min(max(wait, 0.001), 1))
      next
    }
    parsed <- tryCatch(.parse_answer(answer$body), error = function(e) NULL)
    if (!is.list(parsed)) {
      .stop_unavailable(sprintf(
        "The Notebook Secrets broker sent a malformed answer (HTTP %d).", answer$status
      ))
    }
    return(parsed)
  }
}

`%||%` <- function(a, b) if (is.null(a)) b else a

# ---------------------------------------------------------------------------------------------
# In band: an IOPub request, the answer on the stdin socket (IRkernel only)

.INBAND_MSG_TYPE <- "notebook_secrets_request"
# No acknowledgement within this time: no client answers. Documented in docs/get_secret.md.
.INBAND_ACK_TIMEOUT <- 5
.INBAND_RESEND_EVERY <- 1
# An acknowledged request may wait this long (e.g. for a consent prompt).
.INBAND_ANSWER_TIMEOUT <- 300

.inband_channel <- function() {
  executor <- tryCatch(.irkernel_executor(), error = function(e) NULL)
  if (is.null(executor) || !requireNamespace("pbdZMQ", quietly = TRUE)) return(NULL)
  kernel <- tryCatch(
    get(".self", envir = environment(executor$handle_stdin), inherits = FALSE),
    error = function(e) NULL
  )
  stdin <- tryCatch(kernel$sockets$stdin, error = function(e) NULL)
  if (is.null(stdin)) return(NULL)
  list(executor = executor, kernel = kernel, stdin = stdin)
}

# The next message on the stdin socket within `wait_ms`, or NULL.
.stdin_receive <- function(channel, wait_ms) {
  pollin <- pbdZMQ::ZMQ.PO()$POLLIN
  pbdZMQ::zmq.poll(c(channel$stdin), c(pollin), timeout = as.integer(wait_ms))
  if (bitwAnd(pbdZMQ::zmq.poll.get.revents(1L), pollin) == 0L) return(NULL)
  parts <- pbdZMQ::zmq.recv.multipart(channel$stdin, unserialize = FALSE)
  tryCatch(channel$kernel$wire_to_msg(parts), error = function(e) list())
}

.stdin_drain <- function(channel) {
  while (!is.null(.stdin_receive(channel, 0L))) NULL
}

.inband_request <- function(name, scope) {
  channel <- .inband_channel()
  if (is.null(channel)) {
    .stop_unavailable(paste(
      "get_secret's in-band channel needs an IRkernel kernel running a cell, and this kernel",
      "has no route to the broker.", .ENABLE_HINT
    ))
  }
  .state$requests <- .state$requests + 1L
  base_id <- sprintf("r%d-%d-%.0f", Sys.getpid(), .state$requests, as.numeric(Sys.time()) * 1e3)
  tokens <- .state$inband_tokens
  if (length(tokens) == 0L) tokens <- .state$token
  # One request id per token, so the answer tells which client answered (R cannot see the
  # msg_id IRkernel gives each message).
  ids <- sprintf("%s-t%d", base_id, seq_along(tokens))
  attempt <- 0L
  # A new message (msg_id, signature) every time: a Jupyter server refuses a repeated signature.
  # No acknowledgement yet: the next resend carries the next token known, so an earlier client
  # still attached takes over when the newest one has left.
  send <- function() {
    k <- attempt %% length(tokens) + 1L
    request <- list(v = 1L, id = ids[k], token = tokens[k], name = name)
    if (!is.null(scope)) request$scope <- scope
    channel$executor$send_response(
      .INBAND_MSG_TYPE, channel$executor$current_request, "iopub", list(request = request)
    )
  }
  # Replies that arrived after an earlier request gave up; IRkernel's readline() would read them.
  .stdin_drain(channel)
  on.exit(.stdin_drain(channel))
  now <- function() as.numeric(Sys.time())
  send()
  start <- now()
  last_send <- start
  last_heard <- NULL
  repeat {
    t <- now()
    if (is.null(last_heard) && t - start > .INBAND_ACK_TIMEOUT) {
      .stop_unavailable(sprintf(
        "No Notebook Secrets client answered this kernel within %g s. %s",
        .INBAND_ACK_TIMEOUT, .ENABLE_HINT
      ))
    }
    if (!is.null(last_heard) && t - last_heard > .INBAND_ACK_TIMEOUT) {
      .stop_unavailable(paste(
        "The Notebook Secrets client stopped answering this kernel (it was closed or lost its",
        "connection). Call get_secret again once it is back.", .ENABLE_HINT
      ))
    }
    if (t - start > .INBAND_ANSWER_TIMEOUT) {
      .stop_unavailable("The Notebook Secrets client did not answer in time; try again.")
    }
    if (is.null(last_heard) && t - last_send >= .INBAND_RESEND_EVERY) {
      attempt <- attempt + 1L
      send()
      last_send <- t
    }
    msg <- .stdin_receive(channel, 50L)
    if (is.null(msg) || !identical(msg$header$msg_type, "input_reply")) next
    value <- msg$content$value
    answer <- if (is.character(value) && length(value) == 1L) {
      tryCatch(.json_parse(value)[["notebook_secrets_reply"]], error = function(e) NULL)
    }
    k <- if (is.list(answer) && is.character(answer$id)) match(answer$id, ids) else NA_integer_
    if (is.na(k)) next
    if (k != 1L && tokens[k] %in% .state$inband_tokens) {
      # Ask the client that answered first next time.
      .state$inband_tokens <- unique(c(tokens[k], .state$inband_tokens))
    }
    if (isTRUE(answer$ack)) {
      last_heard <- now()
      next
    }
    return(answer)
  }
}

# ---------------------------------------------------------------------------------------------
# get_secret

.check_name <- function(name) {
  if (!is.character(name) || length(name) != 1L || is.na(name)) {
    stop(sprintf(
      "get_secret expects the secret's name as one string, e.g. get_secret(\"API_KEY\"), not %s.",
      if (is.character(name)) sprintf("%d strings", length(name)) else class(name)[1L]
    ), call. = FALSE)
  }
  if (nchar(name) > .MAX_NAME || !grepl(.NAME_RE, name)) {
    stop(sprintf(
      paste(
        "'%s' is not a valid secret name: use 1-128 letters, digits or underscores,",
        "starting with a letter or underscore."
      ),
      substr(name, 1L, 140L)
    ), call. = FALSE)
  }
}

.fetch <- function(name, scope) {
  .check_name(name)
  if (!is.null(scope) && !(is.character(scope) && length(scope) == 1L && scope %in% .SCOPES)) {
    stop("scope must be NULL, \"personal\", \"project\" or \"team\".", call. = FALSE)
  }
  body <- if (is.null(scope)) {
    sprintf('{"name":"%s"}', name)
  } else {
    sprintf('{"name":"%s","scope":"%s"}', name, scope)
  }
  answer <- if (is.null(.state$endpoint) && isTRUE(.state$inband)) {
    .inband_request(name, scope)
  } else {
    .request(body)
  }
  error <- answer$error
  if (!is.null(error)) {
    code <- if (is.list(error)) error$code else NULL
    message <- (if (is.list(error)) error$message else NULL) %||% code %||% "error"
    switch(code %||% "",
      not_found = .stop_not_found(message),
      access_denied = .stop_access(message),
      value_too_large = .stop_too_large(message),
      unauthorized = .stop_unavailable(paste(message, .ENABLE_HINT)),
      invalid_input = stop(message, call. = FALSE),
      .stop_unavailable(message)
    )
  }
  value <- answer$value
  encoding <- answer$encoding %||% "text"
  if (!is.character(value) || length(value) != 1L || !(encoding %in% c("text", "base64"))) {
    .stop_unavailable(sprintf("Notebook Secrets sent a malformed answer for '%s'.", name))
  }
  list(value = value, encoding = encoding)
}

#' The value of the secret `name`, as one string whose print and format are masked.
#'
#' `scope` ("personal", "project" or "team") picks one scope; by default the narrowest scope that
#' has the name wins. Errors are conditions of class SecretNotFoundError, SecretAccessError,
#' SecretTooLargeError or SecretsUnavailableError, all also NotebookSecretsError.
get_secret <- function(name, scope = NULL) {
  found <- .fetch(name, scope)
  value <- found$value
  if (found$encoding == "base64") {
    bytes <- tryCatch(.base64_decode(value), error = function(e) NULL)
    text <- if (is.null(bytes) || any(bytes == as.raw(0L))) NA_character_ else rawToChar(bytes)
    if (is.na(text) || !validUTF8(text)) {
      stop(sprintf(
        "'%s' is a binary file secret; read it with get_secret_raw(\"%s\").", name, name
      ), call. = FALSE)
    }
    value <- text
  }
  Encoding(value) <- "UTF-8"
  .remember(name, value)
  structure(value, class = "notebook_secret", secret_name = name)
}

#' The secret `name` as a raw vector: a file secret's bytes, or a text secret as UTF-8.
get_secret_raw <- function(name, scope = NULL) {
  found <- .fetch(name, scope)
  bytes <- if (found$encoding == "base64") {
    tryCatch(.base64_decode(found$value), error = function(e) {
      .stop_unavailable(sprintf("The stored file '%s' is not valid base64.", name))
    })
  } else {
    charToRaw(enc2utf8(found$value))
  }
  .remember(name, bytes)
  bytes
}

# ---------------------------------------------------------------------------------------------
# The masked value: prints and formats as <secret 'NAME'>; as.character() gives the plain string

.mask <- function(x) sprintf("<secret '%s'>", attr(x, "secret_name") %||% "?")

print.notebook_secret <- function(x, ...) {
  cat(.mask(x), "\n", sep = "")
  invisible(x)
}
format.notebook_secret <- function(x, ...) .mask(x)
toString.notebook_secret <- function(x, ...) .mask(x)
str.notebook_secret <- function(object, ...) cat(" ", .mask(object), "\n", sep = "")
as.character.notebook_secret <- function(x, ...) as.vector(unclass(x), "character")
# IRkernel shows a cell's value through the repr package: one masked form for every MIME type.
repr_text.notebook_secret <- function(obj, ...) .mask(obj)
repr_html.notebook_secret <- function(obj, ...) {
  paste0("<code>", gsub("<", "&lt;", gsub(">", "&gt;", .mask(obj), fixed = TRUE), fixed = TRUE), "</code>")
}
repr_markdown.notebook_secret <- function(obj, ...) paste0("`", .mask(obj), "`")
repr_latex.notebook_secret <- function(obj, ...) paste0("\\texttt{", gsub("_", "\\_", .mask(obj), fixed = TRUE), "}")

.register_methods <- function() {
  base <- c("print", "format", "toString", "as.character")
  for (generic in base) {
    registerS3method(generic, "notebook_secret", get(paste0(generic, ".notebook_secret"), .ns), envir = baseenv())
  }
  registerS3method("str", "notebook_secret", str.notebook_secret, envir = asNamespace("utils"))
  if ("repr" %in% loadedNamespaces()) {
    for (generic in c("repr_text", "repr_html", "repr_markdown", "repr_latex")) {
      registerS3method(generic, "notebook_secret", get(paste0(generic, ".notebook_secret"), .ns),
        envir = asNamespace("repr")
      )
    }
  }
}
.register_methods()

# ---------------------------------------------------------------------------------------------
# Redaction of served values in what the kernel sends to frontends
#
# IRkernel sends a cell's outputs (stream, display_data, error, execute_reply) through its
# executor's send_response function; the helper wraps it once and replaces every served value,
# and its common encodings, by [secret NAME]. execute_input, the cell's own source, is left alone.

.REDACT_MSG_TYPES <- c(
  "stream", "display_data", "execute_result", "update_display_data", "error", "execute_reply"
)

#' Turns redaction of served values in this kernel's outputs on (the default) or off; returns
#' the previous setting.
redact_outputs <- function(enabled = TRUE) {
  previous <- .state$redact
  .state$redact <- isTRUE(enabled)
  invisible(previous)
}

.encoded_forms <- function(value) {
  bytes <- if (is.raw(value)) value else charToRaw(enc2utf8(value))
  text <- if (is.raw(value)) {
    t <- if (any(value == as.raw(0L))) NA_character_ else rawToChar(value)
    if (!is.na(t) && validUTF8(t)) t else NA_character_
  } else {
    value
  }
  size <- if (is.na(text)) length(bytes) else nchar(trimws(text), type = "bytes")
  if (size < .REDACT_MIN_LEN) return(character(0))
  forms <- character(0)
  data <- list(bytes)
  if (!is.na(text)) {
    stripped <- trimws(text)
    for (t in unique(c(text, stripped))) {
      json <- gsub("\t", "\\t", gsub("\r", "\\r", gsub("\n", "\\n",
        gsub('"', '\\"', gsub("\\", "\\\\", t, fixed = TRUE), fixed = TRUE),
        fixed = TRUE
      ), fixed = TRUE), fixed = TRUE)
      forms <- c(forms, t, json, utils::URLencode(t, reserved = TRUE), utils::URLencode(t))
    }
    data <- c(data, list(charToRaw(enc2utf8(stripped))))
  }
  for (d in data) {
    b64 <- .base64_encode(d)
    url <- chartr("+/", "-_", b64)
    hex <- paste(format(as.hexmode(as.integer(d)), width = 2L), collapse = "")
    forms <- c(forms, b64, sub("=+$", "", b64), url, sub("=+$", "", url), hex, toupper(hex))
  }
  forms <- unique(forms[nchar(forms, type = "bytes") >= .REDACT_MIN_LEN])
  Encoding(forms) <- "UTF-8"
  forms
}

.remember <- function(name, value) {
  key <- paste0(name, "\r", if (is.raw(value)) .base64_encode(value) else value)
  if (!is.null(.state$served[[key]])) return(invisible())
  .state$served[[key]] <- TRUE
  forms <- .encoded_forms(value)
  all <- c(.state$forms[!(names(.state$forms) %in% forms)], stats::setNames(rep(name, length(forms)), forms))
  # Longest first: a longer value wins over a shorter one it starts with.
  .state$forms <- all[order(-nchar(names(all), type = "bytes"))]
  .state$form_chars <- nchar(names(.state$forms))
  .hook_outputs()
  invisible()
}

.redact_text <- function(text) {
  forms <- .state$forms
  for (i in seq_along(forms)) {
    form <- names(forms)[i]
    if (any(grepl(form, text, fixed = TRUE, useBytes = TRUE))) {
      text <- gsub(form, paste0("[secret ", forms[[i]], "]"), text, fixed = TRUE, useBytes = TRUE)
      Encoding(text) <- "UTF-8"
    }
  }
  text
}

.redact_any <- function(x) {
  if (is.character(x)) return(.redact_text(x))
  if (is.list(x)) {
    for (i in seq_along(x)) {
      if (!is.null(x[[i]])) x[[i]] <- .redact_any(x[[i]])
    }
  }
  x
}

.redact_content <- function(msg_type, content) {
  if (msg_type %in% c("display_data", "execute_result", "update_display_data")) {
    data <- content$data
    if (is.list(data)) {
      for (mime in names(data)) {
        # Base64 images: a value's encoding could only match by chance.
        if (startsWith(mime, "image/") && mime != "image/svg+xml") next
        if (!is.null(data[[mime]])) data[[mime]] <- .redact_any(data[[mime]])
      }
      content$data <- data
    }
    return(content)
  }
  if (msg_type == "stream") {
    if (is.character(content$text)) content$text <- .redact_text(content$text)
    return(content)
  }
  for (key in c("evalue", "traceback", "ename")) {
    if (!is.null(content[[key]])) content[[key]] <- .redact_any(content[[key]])
  }
  content
}

# A value written in pieces (cat(substr(v, 1, 5)); cat(substr(v, 6, nchar(v)))) reaches the
# frontend as separate stream messages: the end of a write that could be the start of a value is
# held back until the next write completes it (then it is replaced) or shows it is not one, or
# until the kernel sends anything else (at the latest the cell's execute_reply).
.redact_stream <- function(original, parent_msg, socket_name, content) {
  name <- if (is.character(content$name)) content$name[1L] else "stdout"
  for (other in setdiff(names(.state$held), name)) .flush_one(original, other)
  text <- paste(content$text, collapse = "")
  held <- .state$held[[name]]
  if (!is.null(held)) {
    .state$held[[name]] <- NULL
    text <- paste0(held$text, text)
  }
  text <- .redact_text(text)
  keep <- .partial_tail(text)
  if (keep > 0L) {
    n <- nchar(text)
    .state$held[[name]] <- list(
      text = substr(text, n - keep + 1L, n), parent = list(parent_msg, socket_name)
    )
    text <- substr(text, 1L, n - keep)
  }
  if (!nzchar(text)) return(NULL)
  content$text <- text
  content
}

# The number of characters at the end of `text` that are the start of a served value or one of
# its encodings (not the whole of one: that was replaced), 0 if none.
.partial_tail <- function(text) {
  n <- nchar(text)
  if (n == 0L) return(0L)
  last <- substr(text, n, n)
  forms <- names(.state$forms)
  # Counted once per served value: counting a 64 KiB value's characters at every write is slow.
  chars <- .state$form_chars
  if (length(chars) != length(forms)) chars <- .state$form_chars <- nchar(forms)
  # One vectorised pass leaves the forms that hold the text's last character early enough.
  heads <- substr(forms, 1L, pmin(chars - 1L, n, .REDACT_HOLD_MAX))
  candidates <- which(grepl(last, heads, fixed = TRUE))
  best <- 0L
  for (i in candidates) {
    head <- heads[i]
    m <- nchar(head)
    if (m <= best) next
    # A held end of length k starts with the form's first character (the text's position
    # n - k + 1) and ends with the text's last one (the form's position k).
    ends <- gregexpr(last, head, fixed = TRUE)[[1]]
    window <- substr(text, n - m + 1L, n)
    starts <- gregexpr(substr(head, 1L, 1L), window, fixed = TRUE)[[1]]
    k <- intersect(ends, nchar(window) - starts + 1L)
    k <- k[k > best]
    if (length(k) == 0L) next
    ok <- k[endsWith(text, substring(head, 1L, k))]
    if (length(ok) > 0L) best <- max(ok)
  }
  best
}

.flush_one <- function(original, name) {
  held <- .state$held[[name]]
  .state$held[[name]] <- NULL
  if (is.null(held) || is.null(held$parent)) return(invisible())
  original("stream", held$parent[[1L]], held$parent[[2L]], list(name = name, text = held$text))
  invisible()
}

.flush_held <- function(original) {
  for (name in names(.state$held)) .flush_one(original, name)
}

# The content to send, as list(content), or list() when a stream write is held back whole.
.outgoing <- function(original, msg_type, parent_msg, socket_name, content) {
  redacting <- isTRUE(.state$redact) && length(.state$forms) > 0L
  if (msg_type == "stream" && redacting && is.list(content) && is.character(content$text)) {
    held <- tryCatch(.redact_stream(original, parent_msg, socket_name, content), error = function(e) {
      # E.g. text that is not valid UTF-8: replaced as a whole, nothing held back.
      .flush_held(original)
      tryCatch(.redact_content("stream", content), error = function(e) content)
    })
    return(if (is.null(held)) list() else list(held))
  }
  # Anything else (another output, the cell's end): what a stream held back goes first.
  .flush_held(original)
  if (redacting && msg_type %in% .REDACT_MSG_TYPES) {
    content <- tryCatch(.redact_content(msg_type, content), error = function(e) content)
  }
  list(content)
}

# IRkernel's executor object, found on the call stack of the cell being run (NULL elsewhere).
.irkernel_executor <- function() {
  for (frame in rev(sys.frames())) {
    owner <- parent.env(frame)
    self <- if (exists(".self", envir = owner, inherits = FALSE)) get(".self", envir = owner) else NULL
    if (!is.null(self) && methods::is(self, "Executor")) return(self)
  }
  NULL
}

.hook_outputs <- function() {
  if (isTRUE(.state$hooked)) return(invisible(FALSE))
  executor <- tryCatch(.irkernel_executor(), error = function(e) NULL)
  if (is.null(executor)) return(invisible(FALSE))
  original <- executor$send_response
  # A helper injected earlier in this kernel already wrapped it: wrap its original instead.
  original <- attr(original, "notebook_secrets_original") %||% original
  wrapped <- function(msg_type, parent_msg, socket_name, content) {
    # Never breaks the kernel's output, even when this helper's environment was emptied.
    out <- tryCatch(
      .outgoing(original, msg_type, parent_msg, socket_name, content),
      error = function(e) list(content)
    )
    if (length(out) == 0L) return(invisible(NULL))
    original(msg_type, parent_msg, socket_name, out[[1L]])
  }
  attr(wrapped, "notebook_secrets_original") <- original
  executor$send_response <- wrapped
  .state$hooked <- TRUE
  invisible(TRUE)
}
