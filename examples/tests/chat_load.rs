//! chat-load against a chat-server child it starts itself: a handful of clients for a couple of seconds,
//! over TCP (v5) and UDP (v4). Every broadcast must reach every client exactly once and in order
//! and the JSON output must parse.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Bounds a run that hangs; a normal run takes a few seconds.
const RUN_WITHIN: Duration = Duration::from_secs(120);

/// Runs chat-load with `args` plus a spawned server and returns its parsed JSON output.
fn chat_load(args: &[&str]) -> Json {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chat-load"))
        .args([
            "--spawn-server",
            "--server-bin",
            env!("CARGO_BIN_EXE_chat-server"),
        ])
        .args(["--json", "--quiet", "--name-prefix", "smoke"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chat-load starts");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > RUN_WITHIN {
            let _ = child.kill();
            panic!("chat-load still running after {RUN_WITHIN:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "chat-load failed: {}\n{stderr}",
        output.status
    );
    let line = stdout.lines().last().expect("a line of JSON");
    Json::parse(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n{stderr}"))
}

/// Checks the one system's result: deliveries arrived, none lost, duplicated or reordered.
fn assert_clean_run(json: &Json, clients: f64) {
    assert_eq!(json.get("mode").and_then(Json::str), Some("load"));
    let systems = json.get("systems").and_then(Json::array).expect("systems");
    assert_eq!(systems.len(), 1);
    assert_eq!(
        systems[0].get("system").and_then(Json::str),
        Some("chatproto")
    );
    let result = systems[0].get("result").expect("result");
    let n = |key: &str| {
        result
            .get(key)
            .and_then(Json::number)
            .unwrap_or_else(|| panic!("{key} in {result:?}"))
    };
    assert_eq!(n("clients"), clients);
    assert_eq!(n("up"), clients);
    assert!(n("sent") > 0.0, "{result:?}");
    assert!(n("delivered_per_s") > 0.0, "{result:?}");
    // every broadcast reaches every online client, the sender included.
    assert_eq!(n("expected"), n("sent") * clients);
    assert_eq!(n("unique"), n("expected"), "{result:?}");
    assert_eq!(n("lost"), 0.0, "{result:?}");
    // exactly once and in order.
    assert_eq!(n("duplicated"), 0.0, "{result:?}");
    assert_eq!(n("reordered"), 0.0, "{result:?}");
    assert_eq!(n("disconnected"), 0.0, "{result:?}");
    let latency = result.get("latency").expect("latency");
    let p99 = latency.get("p99_us").and_then(Json::number).expect("p99");
    let max = latency.get("max_us").and_then(Json::number).expect("max");
    assert!(p99 > 0.0 && p99 <= max, "{latency:?}");
    let server = result.get("server").expect("server figures");
    assert!(server
        .get("rss_kib")
        .and_then(Json::number)
        .is_some_and(|k| k > 0.0));
}

#[test]
fn broadcasts_over_tcp_reach_every_client_once() {
    let json = chat_load(&[
        "--tcp",
        "127.0.0.1:0",
        "--clients",
        "5",
        "--senders",
        "2",
        "--rate",
        "40",
        "--payload",
        "64",
        "--warmup",
        "0.5",
        "--duration",
        "1.5",
    ]);
    assert_clean_run(&json, 5.0);
}

#[test]
fn legacy_broadcasts_over_udp_reach_every_client_once() {
    let json = chat_load(&[
        "--udp",
        "127.0.0.1:0",
        "--dialect",
        "4",
        "--clients",
        "4",
        "--senders",
        "4",
        "--rate",
        "20",
        "--warmup",
        "0.5",
        "--duration",
        "1.5",
    ]);
    assert_clean_run(&json, 4.0);
}

/// Just enough JSON to read chat-load's output.
#[derive(Clone, Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(BTreeMap<String, Json>),
}

impl Json {
    fn parse(text: &str) -> Result<Json, String> {
        let mut parser = JsonParser {
            bytes: text.as_bytes(),
            at: 0,
        };
        let value = parser.value()?;
        parser.space();
        if parser.at != parser.bytes.len() {
            return Err(format!("trailing bytes at {}", parser.at));
        }
        Ok(value)
    }

    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(fields) => fields.get(key),
            _ => None,
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Json::Number(n) => Some(*n),
            _ => None,
        }
    }

    fn str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    fn array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }
}

struct JsonParser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl JsonParser<'_> {
    fn space(&mut self) {
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Result<(), String> {
        self.space();
        if self.bytes.get(self.at) == Some(&byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at {}", byte as char, self.at))
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, String> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(format!("bad literal at {}", self.at))
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.space();
        match self.bytes.get(self.at) {
            Some(b'{') => {
                self.at += 1;
                let mut fields = BTreeMap::new();
                self.space();
                if self.bytes.get(self.at) == Some(&b'}') {
                    self.at += 1;
                    return Ok(Json::Object(fields));
                }
                loop {
                    self.space();
                    let key = self.string()?;
                    self.eat(b':')?;
                    fields.insert(key, self.value()?);
                    self.space();
                    match self.bytes.get(self.at) {
                        Some(b',') => self.at += 1,
                        Some(b'}') => {
                            self.at += 1;
                            return Ok(Json::Object(fields));
                        }
                        _ => return Err(format!("bad object at {}", self.at)),
                    }
                }
            }
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                self.space();
                if self.bytes.get(self.at) == Some(&b']') {
                    self.at += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value()?);
                    self.space();
                    match self.bytes.get(self.at) {
                        Some(b',') => self.at += 1,
                        Some(b']') => {
                            self.at += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(format!("bad array at {}", self.at)),
                    }
                }
            }
            Some(b'"') => self.string().map(Json::String),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'n') => self.literal("null", Json::Null),
            Some(_) => {
                let start = self.at;
                while self
                    .bytes
                    .get(self.at)
                    .is_some_and(|b| b.is_ascii_digit() || b"+-.eE".contains(b))
                {
                    self.at += 1;
                }
                std::str::from_utf8(&self.bytes[start..self.at])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .map(Json::Number)
                    .ok_or_else(|| format!("bad number at {start}"))
            }
            None => Err("unexpected end".to_owned()),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        if self.bytes.get(self.at) != Some(&b'"') {
            return Err(format!("expected a string at {}", self.at));
        }
        self.at += 1;
        let mut out = String::new();
        loop {
            let rest = std::str::from_utf8(&self.bytes[self.at..]).map_err(|e| e.to_string())?;
            let c = rest.chars().next().ok_or("unterminated string")?;
            self.at += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let escaped = *self.bytes.get(self.at).ok_or("unterminated escape")?;
                    self.at += 1;
                    match escaped {
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'r' => out.push('\r'),
                        b'u' => {
                            let hex = self.bytes.get(self.at..self.at + 4).ok_or("short \\u")?;
                            let code = u32::from_str_radix(
                                std::str::from_utf8(hex).map_err(|e| e.to_string())?,
                                16,
                            )
                            .map_err(|e| e.to_string())?;
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                            self.at += 4;
                        }
                        other => out.push(other as char),
                    }
                }
                c => out.push(c),
            }
        }
    }
}
