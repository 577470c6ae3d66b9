# Read secrets kept by Notebook Secrets from an R notebook cell (IRkernel).
#
#     key <- get_secret("OPENAI_API_KEY")
#     httr::add_headers(Authorization = paste("Bearer", key))
#
# The value never has to be written in the notebook. This file needs base R (3.5+) and jsonlite,
# which IRkernel depends on (it reads the broker's JSON and base64). It is injected into an R
# kernel by the Notebook Secrets VS Code extension, together with the broker's loopback endpoint
# and a token valid for this kernel only; it never receives values other than the ones a cell
# asks for, and never prints them.
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
if (is.null(.state$form_runs)) .state$form_runs <- logical(0)
.state$matcher <- NULL

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
# JSON and base64 through jsonlite, which IRkernel depends on (so it is loaded wherever this runs)

# Escapes that jsonlite's parser (yajl) does not turn into the broker's value: a lone surrogate,
# which UTF-8 cannot hold (yajl writes "?" or invalid bytes; U+FFFD here, as UTF-8 decoders write
# for what they cannot read), and U+0000, which ends an R string (yajl cuts the value there; the
# character is dropped here). Escaped backslashes and whole surrogate pairs are skipped.
.JSON_LONE_SURROGATE <- paste0(
  "(?:\\\\\\\\|\\\\u[dD][89abAB][0-9a-fA-F]{2}\\\\u[dD][c-fC-F][0-9a-fA-F]{2})(*SKIP)(*FAIL)",
  "|\\\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
)
.JSON_NUL <- "\\\\\\\\(*SKIP)(*FAIL)|\\\\u0000"

# parse_json rather than fromJSON: fromJSON reads a string that looks like a URL or a file path
# from there, and an input_reply's value is whatever a client sent.
.json_parse <- function(text) {
  if (grepl("\\u", text, fixed = TRUE)) {
    text <- gsub(.JSON_LONE_SURROGATE, "\\\\ufffd", text, perl = TRUE)
    text <- gsub(.JSON_NUL, "", text, perl = TRUE)
  }
  jsonlite::parse_json(text, simplifyVector = FALSE)
}

# File secrets arrive base64-encoded. jsonlite's decoder gives bytes for some text that is not
# base64 ("a===" as one byte, "Zg==Zg==" as four), so the text is checked first: a stored file
# that is not base64 is an error, never other bytes.
.base64_decode <- function(text) {
  text <- gsub("[\r\n]", "", text, perl = TRUE)
  if (!nzchar(text)) return(raw(0))
  if (nchar(text) %% 4L != 0L || !grepl("^[A-Za-z0-9+/]*={0,2}$", text, perl = TRUE)) {
    stop("not base64")
  }
  jsonlite::base64_dec(text)
}

# One line: jsonlite wraps its output every 76 characters.
.base64_encode <- function(bytes) gsub("[\r\n]", "", jsonlite::base64_enc(bytes), perl = TRUE)

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
    parsed <- tryCatch(.json_parse(answer$body), error = function(e) NULL)
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
  # IRkernel loads jsonlite; another R kernel may lack it, and its answers would read as malformed.
  if (!isNamespaceLoaded("jsonlite") && !requireNamespace("jsonlite", quietly = TRUE)) {
    .stop_unavailable(paste(
      "get_secret in R needs the jsonlite package (IRkernel depends on it):",
      "install it with install.packages(\"jsonlite\") and run the cell again."
    ))
  }
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
# IRkernel sends a cell's outputs (stream, display_data, error, execute_reply with the pager's
# payloads) and readline()'s input_request through its executor's send_response function; the
# helper wraps it once and replaces every served value, its common encodings and escapings, and
# runs of 16 or more of its characters, by [secret NAME] in every string of the content, list
# names included. execute_input, the cell's own source, is left alone.

.REDACT_MSG_TYPES <- c(
  "stream", "display_data", "execute_result", "update_display_data", "error", "execute_reply",
  # Not saved in the notebook, but shown: readline()'s prompt.
  "input_request"
)

#' Turns redaction of served values in this kernel's outputs on (the default) or off; returns
#' the previous setting.
redact_outputs <- function(enabled = TRUE) {
  previous <- .state$redact
  .state$redact <- isTRUE(enabled)
  invisible(previous)
}

# Each character of `t` as written by `map` (code point -> text), the others as they are.
.escape_chars <- function(t, map) {
  cps <- utf8ToInt(t)
  if (anyNA(cps)) return(t)
  chars <- intToUtf8(cps, multiple = TRUE)
  hit <- match(cps, as.integer(names(map)))
  chars[!is.na(hit)] <- map[hit[!is.na(hit)]]
  paste(chars, collapse = "")
}

# JSON string escaping as Python's json.dumps writes it (`ascii`: non-ASCII as \u escapes), for
# redaction forms. Not jsonlite's toJSON: it has no ASCII-only mode (json.dumps' default, which
# writes é as \u00e9 and an emoji as a surrogate pair), so one escaper writes both forms alike.
.json_escape <- function(t, ascii) {
  cps <- utf8ToInt(t)
  if (anyNA(cps)) return(t)
  chars <- intToUtf8(cps, multiple = TRUE)
  simple <- c(
    "34" = '\\"', "92" = "\\\\", "8" = "\\b", "12" = "\\f", "10" = "\\n", "13" = "\\r", "9" = "\\t"
  )
  hit <- match(cps, as.integer(names(simple)))
  chars[!is.na(hit)] <- simple[hit[!is.na(hit)]]
  ctrl <- is.na(hit) & cps < 32L
  chars[ctrl] <- sprintf("\\u%04x", cps[ctrl])
  if (ascii) {
    bmp <- cps > 127L & cps < 0x10000L
    chars[bmp] <- sprintf("\\u%04x", cps[bmp])
    astral <- cps >= 0x10000L
    v <- cps[astral] - 0x10000L
    chars[astral] <- sprintf("\\u%04x\\u%04x", 0xD800L + v %/% 0x400L, 0xDC00L + v %% 0x400L)
  }
  paste(chars, collapse = "")
}

# LaTeX escapes as repr (braces) and pandas (a space, no `|`) write them.
.LATEX_BRACES <- c(
  "92" = "\\textbackslash{}", "38" = "\\&", "37" = "\\%", "36" = "\\$", "35" = "\\#",
  "95" = "\\_", "123" = "\\{", "125" = "\\}", "126" = "\\textasciitilde{}",
  "94" = "\\textasciicircum{}", "124" = "\\textbar{}"
)
.LATEX_SPACE <- sub("{}", " ", .LATEX_BRACES[names(.LATEX_BRACES) != "124"], fixed = TRUE)
# JSON as written into HTML pages.
.JSON_HTML_SAFE <- c("60" = "\\u003c", "62" = "\\u003e", "38" = "\\u0026", "39" = "\\u0027")

# The value and the forms a notebook commonly shows it in: a logical vector named by the forms,
# TRUE for those whose long runs count (the value as text, escaped, percent-encoded or base64),
# FALSE for those that count only whole (hex).
.encoded_forms <- function(value) {
  bytes <- if (is.raw(value)) value else charToRaw(enc2utf8(value))
  text <- if (is.raw(value)) {
    t <- if (any(value == as.raw(0L))) NA_character_ else rawToChar(value)
    if (!is.na(t) && validUTF8(t)) t else NA_character_
  } else {
    value
  }
  if (!is.na(text)) Encoding(text) <- "UTF-8"
  size <- if (is.na(text)) length(bytes) else nchar(trimws(text), type = "bytes")
  if (size < .REDACT_MIN_LEN) return(logical(0))
  runs <- character(0)
  data <- list(bytes)
  if (!is.na(text)) {
    stripped <- trimws(text)
    for (t in unique(c(text, stripped))) {
      json <- .json_escape(t, FALSE)
      as_ascii <- .json_escape(t, TRUE)
      quoted <- encodeString(t, quote = '"')
      runs <- c(
        runs, t, json, as_ascii, .escape_chars(as_ascii, .JSON_HTML_SAFE), encodeString(t),
        substr(quoted, 2L, nchar(quoted) - 1L),
        utils::URLencode(t, reserved = TRUE), utils::URLencode(t),
        gsub("%20", "+", utils::URLencode(t, reserved = TRUE), fixed = TRUE),
        .escape_chars(t, .LATEX_BRACES), .escape_chars(t, .LATEX_SPACE)
      )
    }
    data <- c(data, list(charToRaw(enc2utf8(stripped))))
  }
  whole <- character(0)
  for (d in data) {
    b64 <- .base64_encode(d)
    url <- chartr("+/", "-_", b64)
    hex <- paste(format(as.hexmode(as.integer(d)), width = 2L), collapse = "")
    runs <- c(runs, b64, sub("=+$", "", b64), url, sub("=+$", "", url))
    whole <- c(whole, hex, toupper(hex))
  }
  forms <- stats::setNames(rep(c(TRUE, FALSE), c(length(runs), length(whole))), c(runs, whole))
  forms <- forms[!duplicated(names(forms))]
  forms <- forms[nchar(names(forms), type = "bytes") >= .REDACT_MIN_LEN]
  names(forms) <- enc2utf8(names(forms))
  forms
}

.remember <- function(name, value) {
  key <- paste0(name, "\r", if (is.raw(value)) .base64_encode(value) else value)
  if (!is.null(.state$served[[key]])) return(invisible())
  .state$served[[key]] <- TRUE
  forms <- .encoded_forms(value)
  kept <- !(names(.state$forms) %in% names(forms))
  runs <- .state$form_runs
  .state$form_runs <- c(runs[names(runs) %in% names(.state$forms)[kept]], forms)
  all <- c(.state$forms[kept], stats::setNames(rep(name, length(forms)), names(forms)))
  # Longest first: a longer value wins over a shorter one it starts with.
  .state$forms <- all[order(-nchar(names(all), type = "bytes"))]
  .state$form_chars <- nchar(names(.state$forms))
  .state$matcher <- NULL
  .hook_outputs()
  invisible()
}

# ---------------------------------------------------------------------------------------------
# Where served values stand in a text: the design of the Python helper's _Matcher. Forms of
# 2 * .WORD - 1 bytes or more are found through their 8-byte words, read as doubles (readBin) and
# looked up in a sorted index (findInterval): one vectorised pass over a text's aligned words,
# whatever the number of values. A word found is followed into the forms that hold it and the
# match grown both ways, also across a line break; it counts when it covers a whole form, or
# .REDACT_RUN characters of one whose runs count. Shorter forms, and forms that cannot be found
# without a word of fewer than 3 distinct bytes, are searched for one by one.

.WORD <- 8L
.REDACT_RUN <- 16L
.MAX_TRIES <- 16L
.BLANK <- as.raw(c(9L, 10L, 11L, 12L, 13L, 32L))

# The 8-byte words at every offset of `bytes` (offset k at position k + 1), as doubles.
.all_words <- function(bytes) {
  n <- length(bytes)
  out <- numeric(max(0L, n - .WORD + 1L))
  for (r in 0:(.WORD - 1L)) {
    count <- (n - r) %/% .WORD
    if (count > 0L) {
      out[seq(r + 1L, by = .WORD, length.out = count)] <- readBin(
        bytes[r + seq_len(count * .WORD)], "double", n = count, size = 8L, endian = "little"
      )
    }
  }
  out
}

# Whether each word of `bytes` starting at `starts` (1-based) holds at least 3 distinct bytes.
.varied <- function(bytes, starts) {
  b <- as.integer(bytes)
  cols <- lapply(0:(.WORD - 1L), function(j) b[starts + j])
  distinct <- rep(1L, length(starts))
  for (j in 2:.WORD) {
    seen <- rep(FALSE, length(starts))
    for (i in seq_len(j - 1L)) seen <- seen | cols[[i]] == cols[[j]]
    distinct <- distinct + !seen
  }
  distinct >= 3L
}

.build_matcher <- function() {
  forms <- names(.state$forms)
  runs <- unname(.state$form_runs[forms])
  runs[is.na(runs)] <- TRUE
  bytes <- lapply(forms, charToRaw)
  sizes <- lengths(bytes)
  long <- which(sizes >= 2L * .WORD - 1L)
  m <- list(
    bytes = bytes[long], names = unname(.state$forms[long]), runs = runs[long], keys = numeric(0)
  )
  short <- which(sizes < 2L * .WORD - 1L)
  if (length(long) > 0L) {
    # Every form's words at once: the forms end to end, words read at every offset, then only
    # those that lie inside one form kept.
    hay <- unlist(m$bytes)
    starts <- cumsum(c(0L, sizes[long]))[seq_along(long)]
    offset <- seq_len(length(hay) - .WORD + 1L) - 1L
    form <- findInterval(offset, starts)
    at <- offset - starts[form]
    inside <- at <= sizes[long][form] - .WORD
    words <- .all_words(hay)
    ok <- inside & !is.na(words)
    ok[ok] <- .varied(hay, offset[ok] + 1L)
    residue <- form * .WORD + at %% .WORD
    # A whole occurrence is read at form offsets r, r + 8, ... for one r < 8: each r needs a
    # word, else the form is also searched for as a whole.
    covered <- tabulate(form[ok][!duplicated(residue[ok])], length(long))
    short <- sort(c(short, long[covered < .WORD]))
    # Of a form that counts only whole, one word per residue is enough.
    whole <- ok & !m$runs[form]
    ok[whole] <- !duplicated(residue[whole])
    o <- order(words[ok])
    m$keys <- words[ok][o]
    m$form <- form[ok][o]
    m$at <- at[ok][o]
  }
  m$short <- forms[short]
  m$short_names <- unname(.state$forms[short])
  m
}

.matcher <- function() {
  if (is.null(.state$matcher)) .state$matcher <- .build_matcher()
  .state$matcher
}

# How many bytes a and b have in common from offsets i and j, at most `limit`: going ahead
# (a[i + 1], a[i + 2], ...) or back (a[i], a[i - 1], ...).
.same_length <- function(a, i, b, j, limit, ahead = TRUE) {
  n <- 0L
  step <- 64L
  while (n < limit) {
    k <- min(step, limit - n)
    at <- if (ahead) n + seq_len(k) else -n - seq_len(k) + 1L
    d <- which(a[i + at] != b[j + at])
    if (length(d)) return(n + d[1L] - 1L)
    n <- n + k
    step <- step * 4L
  }
  n
}

.is_run <- function(form, fa, fb) {
  if (fb - fa >= 4L * .REDACT_RUN) return(TRUE)
  # UTF-8 continuation bytes do not start a character.
  b <- as.integer(form[fa + seq_len(fb - fa)])
  sum(b < 128L | b >= 192L) >= .REDACT_RUN
}

.blank <- function(bytes) all(bytes %in% .BLANK)

# Grows a match of form[fa, fb) at bytes[a, b) (offsets) over line breaks and the next line's
# indentation that cut the form: each piece must be 8 bytes or end the form, and hold more than
# spaces.
.across_wraps <- function(bytes, form, a, b, fa, fb) {
  n <- length(bytes)
  size <- length(form)
  lf <- as.raw(10L)
  cr <- as.raw(13L)
  indent <- as.raw(c(9L, 32L))
  while (fb < size && b < n) {
    c <- b
    if (bytes[c + 1L] == cr && c + 1L < n) c <- c + 1L
    if (bytes[c + 1L] != lf) break
    c <- c + 1L
    while (c < n && bytes[c + 1L] %in% indent) c <- c + 1L
    k <- .same_length(bytes, c, form, fb, min(n - c, size - fb))
    if (k == 0L || (k < .WORD && fb + k != size) || .blank(bytes[c + seq_len(k)])) break
    b <- c + k
    fb <- fb + k
  }
  while (fa > 0L) {
    j <- a
    while (j > 0L && bytes[j] %in% indent) j <- j - 1L
    if (j == 0L || bytes[j] != lf) break
    j <- j - 1L
    if (j > 0L && bytes[j] == cr) j <- j - 1L
    k <- .same_length(bytes, j, form, fa, min(j, fa), ahead = FALSE)
    if (k == 0L || (k < .WORD && fa - k != 0L) || .blank(bytes[j - k + seq_len(k)])) break
    a <- j - k
    fa <- fa - k
  }
  c(a, b, fa, fb)
}

# The longest match that counts through the word at offset p, held in the forms at the entries
# `first` to `last` of the index (at most .MAX_TRIES of them): c(start, end, form) or NULL.
.grow <- function(m, bytes, p, first, last) {
  n <- length(bytes)
  best <- NULL
  for (j in first:min(last, first + .MAX_TRIES - 1L)) {
    f <- m$form[j]
    q <- m$at[j]
    form <- m$bytes[[f]]
    size <- length(form)
    r <- .same_length(bytes, p + .WORD, form, q + .WORD, min(n - p, size - q) - .WORD)
    l <- .same_length(bytes, p, form, q, min(p, q), ahead = FALSE)
    span <- c(p - l, p + .WORD + r, q - l, q + .WORD + r)
    if (!(span[3L] == 0L && span[4L] == size)) {
      if (!m$runs[f]) next
      span <- .across_wraps(bytes, form, span[1L], span[2L], span[3L], span[4L])
      if (!.is_run(form, span[3L], span[4L])) next
      # Not the whole value: the spaces around a run are left to the text when the rest is one.
      trimmed <- span
      while (trimmed[1L] < trimmed[2L] && bytes[trimmed[1L] + 1L] %in% .BLANK) {
        trimmed <- trimmed + c(1L, 0L, 1L, 0L)
      }
      while (trimmed[2L] > trimmed[1L] && bytes[trimmed[2L]] %in% .BLANK) {
        trimmed <- trimmed - c(0L, 1L, 0L, 1L)
      }
      if (.is_run(form, trimmed[3L], trimmed[4L])) span <- trimmed
    }
    if (is.null(best) || span[2L] - span[1L] > best[2L] - best[1L]) best <- c(span[1:2], f)
  }
  best
}

# Byte spans of the served values in `bytes`: a data frame of start and end offsets and names,
# or NULL.
.find_spans <- function(m, bytes) {
  starts <- integer(0)
  ends <- integer(0)
  names <- character(0)
  add <- function(span) {
    starts[length(starts) + 1L] <<- span[1L]
    ends[length(ends) + 1L] <<- span[2L]
    names[length(names) + 1L] <<- m$names[span[3L]]
  }
  count <- length(bytes) %/% .WORD
  if (length(m$keys) > 0L && count > 0L) {
    words <- readBin(
      bytes[seq_len(count * .WORD)], "double", n = count, size = 8L, endian = "little"
    )
    # The entries first to last of the index hold each word (none when last < first).
    first <- findInterval(words, m$keys, left.open = TRUE) + 1L
    last <- findInterval(words, m$keys)
    hit <- !is.na(last) & last >= first
    covered <- 0L
    waiting <- integer(0)
    for (h in which(hit)) {
      p <- (h - 1L) * .WORD
      if (p < covered) next
      if (h < count && hit[h + 1L] && last[h] > first[h]) {
        # A word several forms hold (a provider's key prefix): the next word's match grows back
        # over it, and it is followed only if that one does not.
        waiting <- c(waiting, h)
        next
      }
      span <- .grow(m, bytes, p, first[h], last[h])
      for (w in waiting) {
        q <- (w - 1L) * .WORD
        if (q >= covered && (is.null(span) || q < span[1L])) {
          earlier <- .grow(m, bytes, q, first[w], last[w])
          if (!is.null(earlier)) {
            add(earlier)
            covered <- earlier[2L]
          }
        }
      }
      waiting <- integer(0)
      if (!is.null(span)) {
        add(span)
        covered <- max(covered, span[2L])
      }
    }
  }
  if (length(m$short) > 0L) {
    text <- rawToChar(bytes)
    for (i in seq_along(m$short)) {
      if (!grepl(m$short[i], text, fixed = TRUE, useBytes = TRUE)) next
      at <- gregexpr(m$short[i], text, fixed = TRUE, useBytes = TRUE)[[1L]] - 1L
      starts <- c(starts, at)
      ends <- c(ends, at + nchar(m$short[i], type = "bytes"))
      names <- c(names, rep(m$short_names[i], length(at)))
    }
  }
  if (length(starts) == 0L) return(NULL)
  data.frame(start = starts, end = ends, name = names, stringsAsFactors = FALSE)
}

.NAMED <- c(amp = "&", lt = "<", gt = ">", quot = '"', apos = "'")

# HTML character references: numeric ones, and the named &amp; &lt; &gt; &quot; &apos;.
.decode_references <- function(refs) {
  body <- sub(";$", "", substring(refs, 2L))
  code <- ifelse(grepl("^#[xX]", body), strtoi(substring(body, 3L), 16L),
    ifelse(startsWith(body, "#"), strtoi(substring(body, 2L), 10L), NA_integer_)
  )
  chars <- ifelse(is.na(code), .NAMED[tolower(body)], NA_character_)
  valid <- !is.na(code) & code > 0L & code <= 0x10FFFFL & !(code >= 0xD800L & code <= 0xDFFFL)
  chars[valid] <- vapply(code[valid], intToUtf8, "")
  unname(chars)
}

# Runs of percent-encoded bytes that are UTF-8 text.
.decode_percent <- function(runs) {
  vapply(runs, function(run) {
    hex <- substring(run, seq(2L, nchar(run), 3L), seq(3L, nchar(run), 3L))
    decoded <- as.raw(strtoi(hex, 16L))
    if (any(decoded == as.raw(0L))) return(NA_character_)
    text <- rawToChar(decoded)
    if (validUTF8(text)) text else NA_character_
  }, "", USE.NAMES = FALSE)
}

# Escapings undone before matching, whatever their variant (as in the Python helper): the
# character that starts one, its pattern and its decoder.
.VIEWS <- list(
  list(start = "&", pattern = paste0(
    "&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[aA][mM][pP]|[lL][tT]|[gG][tT]|[qQ][uU][oO][tT]|",
    "[aA][pP][oO][sS]);?"
  ), decode = .decode_references),
  list(start = "%", pattern = "(%[0-9A-Fa-f]{2})+", decode = .decode_percent)
)

# Spans of `bytes` (the UTF-8 of `text`) that hold a served value escaped as `view` finds:
# matched in the decoded text, given in `bytes`; an end inside a decoded piece takes the whole
# piece.
.decoded_spans <- function(m, bytes, text, view) {
  found <- gregexpr(view$pattern, text, perl = TRUE, useBytes = TRUE)[[1L]]
  if (found[1L] < 0L) return(NULL)
  chars <- view$decode(regmatches(text, list(found))[[1L]])
  keep <- !is.na(chars)
  if (!any(keep)) return(NULL)
  starts <- as.integer(found)[keep] - 1L
  ends <- starts + attr(found, "match.length")[keep]
  chars <- chars[keep]
  pieces <- list()
  marks <- matrix(0L, length(starts), 4L)
  last <- 0L
  at <- 0L
  for (i in seq_along(starts)) {
    pieces[[length(pieces) + 1L]] <- bytes[last + seq_len(starts[i] - last)]
    at <- at + starts[i] - last
    char <- charToRaw(enc2utf8(chars[i]))
    marks[i, ] <- c(at, at + length(char), starts[i], ends[i])
    pieces[[length(pieces) + 1L]] <- char
    at <- at + length(char)
    last <- ends[i]
  }
  pieces[[length(pieces) + 1L]] <- bytes[last + seq_len(length(bytes) - last)]
  spans <- .find_spans(m, unlist(pieces))
  if (is.null(spans)) return(NULL)
  i <- findInterval(spans$start, marks[, 1L])
  inside <- i > 0L & spans$start < marks[pmax(i, 1L), 2L]
  shift <- ifelse(i > 0L, marks[pmax(i, 1L), 4L] - marks[pmax(i, 1L), 2L], 0L)
  spans$start <- ifelse(inside, marks[pmax(i, 1L), 3L], spans$start + shift)
  i <- findInterval(spans$end - 1L, marks[, 1L])
  inside <- i > 0L & spans$end <= marks[pmax(i, 1L), 2L]
  shift <- ifelse(i > 0L, marks[pmax(i, 1L), 4L] - marks[pmax(i, 1L), 2L], 0L)
  spans$end <- ifelse(inside, marks[pmax(i, 1L), 4L], spans$end + shift)
  spans
}

# One string with each span (overlapping ones merged, ends moved to whole characters) replaced
# by [secret NAME].
.replace_spans <- function(bytes, spans) {
  n <- length(bytes)
  continuation <- function(k) k < n && as.integer(bytes[k + 1L]) %/% 64L == 2L
  spans <- spans[order(spans$start, -spans$end), , drop = FALSE]
  out <- list()
  pos <- 0L
  cur <- NULL
  emit <- function(span) {
    a <- span$start
    b <- span$end
    while (a < b && continuation(a)) a <- a + 1L
    while (a < b && continuation(b)) b <- b - 1L
    if (a < pos || a >= b) return(invisible())
    out[[length(out) + 1L]] <<- bytes[pos + seq_len(a - pos)]
    out[[length(out) + 1L]] <<- charToRaw(enc2utf8(paste0("[secret ", span$name, "]")))
    pos <<- b
  }
  for (i in seq_len(nrow(spans))) {
    s <- spans[i, ]
    if (!is.null(cur) && s$start < cur$end) {
      if (s$end - s$start > cur$end - cur$start) cur$name <- s$name
      cur$end <- max(cur$end, s$end)
      next
    }
    if (!is.null(cur)) emit(cur)
    cur <- s
  }
  emit(cur)
  out[[length(out) + 1L]] <- bytes[pos + seq_len(n - pos)]
  text <- rawToChar(unlist(out))
  Encoding(text) <- "UTF-8"
  text
}

.redact_one <- function(m, text) {
  if (is.na(text) || !nzchar(text)) return(text)
  text <- enc2utf8(text)
  bytes <- charToRaw(text)
  spans <- .find_spans(m, bytes)
  for (view in .VIEWS) {
    if (grepl(view$start, text, fixed = TRUE)) {
      spans <- rbind(spans, .decoded_spans(m, bytes, text, view))
    }
  }
  if (is.null(spans) || nrow(spans) == 0L) return(text)
  .replace_spans(bytes, spans)
}

.redact_text <- function(text) {
  if (length(text) == 0L) return(text)
  m <- .matcher()
  out <- vapply(text, function(t) .redact_one(m, t), "", USE.NAMES = FALSE)
  names(out) <- names(text)
  out
}

# Names (dict keys) as redacted; two replaced by the same name stay two.
.redact_names <- function(names) {
  new <- .redact_text(names)
  for (i in which(!is.na(new) & new != names)) {
    base <- new[i]
    k <- 2L
    while (new[i] %in% c(new[-i], names)) {
      new[i] <- sprintf("%s (%d)", base, k)
      k <- k + 1L
    }
  }
  new
}

.redact_any <- function(x) {
  if (is.character(x)) {
    x[] <- .redact_text(unname(x))
    if (!is.null(names(x))) names(x) <- .redact_names(names(x))
    return(x)
  }
  if (is.list(x)) {
    keys <- names(x)
    for (i in seq_along(x)) {
      if (is.null(x[[i]])) next
      # Base64 images: a value's encoding could only match by chance.
      image <- !is.null(keys) && startsWith(keys[i], "image/") && keys[i] != "image/svg+xml"
      if (image && is.character(x[[i]])) next
      x[[i]] <- .redact_any(x[[i]])
    }
    if (!is.null(keys)) names(x) <- .redact_names(keys)
  }
  x
}

.redact_content <- function(msg_type, content) {
  if (msg_type == "stream") {
    if (is.character(content$text)) content$text <- .redact_text(content$text)
    return(content)
  }
  payload <- if (msg_type == "execute_reply") content$payload else NULL
  if (!is.list(payload) || length(payload) == 0L) return(.redact_any(content))
  content$payload <- NULL
  content <- .redact_any(content)
  # A set_next_input payload becomes the next cell's source, which is never altered.
  content$payload <- lapply(payload, function(p) {
    if (is.list(p) && identical(p$source, "set_next_input")) p else .redact_any(p)
  })
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
