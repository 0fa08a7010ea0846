import Foundation
import Testing
@testable import ScoreEngine

/// The Jinja interpreter behind chat templates: real models' templates render every fixture
/// conversation exactly as `transformers` does (fixtures made by
/// Fixtures/chat_templates/make_chat_template_fixtures.py; no Python needed here), the
/// constructs templates use (expectations taken from `transformers`' Jinja environment), errors
/// that name what is unsupported, malformed and hostile templates that throw rather than crash,
/// and the layouts derived from each family's real template.
struct JinjaTemplateTests {
    /// The real templates in Fixtures/chat_templates/templates.
    static let templateNames = [
        "deepseek-llm-chat", "deepseek-r1-distill", "gemma-2", "gemma-3", "llama-3", "llama-3.1", "llama-3.2",
        "minicpm3", "mistral-v0.3", "phi-3", "phi-4-mini", "qwen2.5", "qwen3", "smollm2",
    ]

    /// A JSON value read in a test, turned into a template value (object keys sorted, as the
    /// fixture script sorts them before rendering).
    indirect enum JSONTree: Decodable {
        case null, bool(Bool), int(Int), double(Double), string(String), array([JSONTree]), object([String: JSONTree])

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .null } else if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode(Int.self) { self = .int(value) } else if let value = try? container.decode(Double.self) {
                self = .double(value)
            } else if let value = try? container.decode(String.self) { self = .string(value) } else if let value = try? container.decode([JSONTree].self) {
                self = .array(value)
            } else {
                self = .object(try container.decode([String: JSONTree].self))
            }
        }

        var jinja: JinjaValue {
            switch self {
            case .null: return .none
            case .bool(let value): return .bool(value)
            case .int(let value): return .int(value)
            case .double(let value): return .double(value)
            case .string(let value): return .string(value)
            case .array(let items): return .list(items.map(\.jinja))
            case .object(let members): return .dict(JinjaDict(members.keys.sorted().map { ($0, members[$0]!.jinja) }))
            }
        }
    }

    /// One template of the fixtures.
    struct TemplateEntry: Decodable {
        let model: String?
        let chat_template: String
        let bos_token: String?
        let eos_token: String?
        let pad_token: String?
        let unk_token: String?

        /// The special-token variables transformers passes (set ones only).
        var tokens: [String: JinjaValue] {
            var out = [String: JinjaValue]()
            for (name, value) in [("bos_token", bos_token), ("eos_token", eos_token), ("pad_token", pad_token),
                                  ("unk_token", unk_token)] {
                if let value, !value.isEmpty { out[name] = .string(value) }
            }
            return out
        }
    }

    /// One conversation of the fixtures.
    struct Conversation: Decodable {
        let messages: JSONTree
        let add_generation_prompt: Bool
        let tools: JSONTree?
    }

    /// conversations.json.
    struct Header: Decodable {
        let now: String
        let conversations: [String: Conversation]
    }

    /// What transformers rendered, or the error it raised.
    struct Expected: Decodable {
        let text: String?
        let error: String?
        let raised: Bool?
    }

    static func folder() throws -> URL {
        guard let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw ScoreError.invalidArgument("fixtures folder missing from the test bundle")
        }
        return fixtures.appendingPathComponent("chat_templates")
    }

    static func decode<T: Decodable>(_ type: T.Type, _ path: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(contentsOf: folder().appendingPathComponent(path)))
    }

    static func entry(_ name: String) throws -> TemplateEntry {
        try decode(TemplateEntry.self, "templates/\(name).json")
    }

    /// The fixed time the fixtures were rendered at (noon, read as UTC).
    static func options() -> JinjaRenderer.Options {
        var options = JinjaRenderer.Options()
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        options.now = calendar.date(from: DateComponents(year: 2025, month: 3, day: 5, hour: 12))!
        options.timeZone = calendar.timeZone
        return options
    }

    /// The variables of a fixture conversation, as transformers passes them.
    static func variables(_ conversation: Conversation, _ entry: TemplateEntry) -> [String: JinjaValue] {
        var variables = entry.tokens
        variables["messages"] = conversation.messages.jinja
        variables["add_generation_prompt"] = .bool(conversation.add_generation_prompt)
        variables["tools"] = conversation.tools?.jinja ?? JinjaValue.none
        variables["documents"] = JinjaValue.none
        return variables
    }

    /// Renders `template` with variables given as a JSON object.
    static func render(_ template: String, _ json: String = "", options: JinjaRenderer.Options = options()) throws -> String {
        var variables = [String: JinjaValue]()
        if !json.isEmpty, case .dict(let dict) = try JSONDecoder().decode(JSONTree.self, from: Data(json.utf8)).jinja {
            for (key, value) in dict.entries { variables[key] = value }
        }
        return try JinjaTemplate(template, source: "test.jinja").render(variables, options: options)
    }

    /// The reason of the `ScoreError` a rendering throws (nil when it does not throw).
    static func failure(_ template: String, _ json: String = "", options: JinjaRenderer.Options = options()) -> String? {
        do {
            _ = try render(template, json, options: options)
            return nil
        } catch ScoreError.invalidFile(let path, let reason) {
            #expect(path == "test.jinja")
            return reason
        } catch ScoreError.invalidArgument(let message) {
            return message
        } catch {
            return "unexpected \(error)"
        }
    }

    // MARK: Real templates

    @Test(arguments: templateNames)
    func realTemplateRendersAsTransformers(name: String) throws {
        let entry = try Self.entry(name)
        let header = try Self.decode(Header.self, "conversations.json")
        let expected = try Self.decode([String: Expected].self, "expected/\(name).json")
        #expect(expected.count == header.conversations.count && expected.count >= 8)
        let template = try JinjaTemplate(entry.chat_template, source: name)
        for (caseName, conversation) in header.conversations.sorted(by: { $0.key < $1.key }) {
            let want = try #require(expected[caseName])
            let variables = Self.variables(conversation, entry)
            if let text = want.text {
                let rendered = try template.render(variables, options: Self.options())
                #expect(rendered == text, "\(name) \(caseName)")
            } else {
                do {
                    let rendered = try template.render(variables, options: Self.options())
                    Issue.record("\(name) \(caseName) rendered \(rendered.debugDescription); transformers: \(want.error ?? "")")
                } catch ScoreError.invalidArgument(let message) {
                    // The template's own raise_exception: the same message.
                    #expect(want.raised == true, "\(name) \(caseName): \(message)")
                    let raised = (want.error ?? "").replacingOccurrences(of: "TemplateError: ", with: "")
                    #expect(message.hasSuffix(raised), "\(name) \(caseName): \(message)")
                } catch ScoreError.invalidFile(let path, _) {
                    #expect(want.raised == false && path == name, "\(name) \(caseName)")
                }
            }
        }
    }

    /// A broad comparison with transformers over many templates, run when SCORE_JINJA_SWEEP names
    /// a file made by `make_chat_template_fixtures.py --sweep`.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SCORE_JINJA_SWEEP"] != nil))
    func sweepRendersAsTransformers() throws {
        struct Sweep: Decodable {
            let conversations: [String: Conversation]
            let templates: [String: [String: Expected]]
            let sources: [String: TemplateEntry]
        }
        let path = try #require(ProcessInfo.processInfo.environment["SCORE_JINJA_SWEEP"])
        let sweep = try JSONDecoder().decode(Sweep.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        var matched = 0, mismatched = [String]()
        for (name, entry) in sweep.sources.sorted(by: { $0.key < $1.key }) {
            for (caseName, conversation) in sweep.conversations.sorted(by: { $0.key < $1.key }) {
                guard let want = sweep.templates[name]?[caseName] else { continue }
                let got: String
                do {
                    let template = try JinjaTemplate(entry.chat_template, source: name)
                    got = try template.render(Self.variables(conversation, entry), options: Self.options())
                } catch {
                    if want.text == nil { matched += 1 } else { mismatched.append("\(name) \(caseName): threw \(error)") }
                    continue
                }
                if got == want.text { matched += 1 } else {
                    mismatched.append("\(name) \(caseName): \(got.debugDescription) vs \((want.text ?? want.error ?? "").debugDescription)")
                }
            }
        }
        for line in mismatched { Issue.record(Comment(rawValue: line)) }
        print("sweep: \(matched) renderings match, \(mismatched.count) differ")
    }

    // MARK: Constructs

    /// Templates, their variables (JSON) and what transformers renders.
    static let constructs: [(String, String, String)] = [
        ("a\n{% if true %}\n  b\n{% endif %}\nc",
         "", "a\n  b\nc"),
        ("  {% if true %}x{% endif %}  \ny",
         "", "x  \ny"),
        ("a {{- ' b ' -}} c",
         "", "a b c"),
        ("a  {%- if true -%}  b  {%- endif -%}  c",
         "", "abc"),
        ("x{# comment #}\ny",
         "", "xy"),
        ("{% raw %}{{ not rendered }}{% endraw %}",
         "", "{{ not rendered }}"),
        ("  {%+ if true %}x{% endif %}",
         "", "  x"),
        ("{% if true +%}\nx{% endif %}",
         "", "\nx"),
        ("line\n",
         "", "line"),
        ("{{ 'a' }}\n{{ 'b' }}",
         "", "a\nb"),
        ("a\r\n{% if true %}\r\nb{% endif %}",
         "", "a\nb"),
        ("{% for x in ['a','b','c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{{ x }};{% endfor %}",
         "", "10TrueFalse33a;21FalseFalse32b;32FalseTrue31c;"),
        ("{% for x in [] %}x{% else %}empty{% endfor %}",
         "", "empty"),
        ("{% for x in range(10) if x % 3 == 0 %}{{ x }}{{ ',' if not loop.last }}{% endfor %}",
         "", "0,3,6,9"),
        ("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }} {% endfor %}",
         "", "a=1 b=2 "),
        ("{% for k, v in d|items %}{{ k }}{{ v }}{% endfor %}",
         "{\"d\": {\"x\": 1, \"y\": [2]}}", "x1y[2]"),
        ("{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}",
         "", "013"),
        ("{% for x in [1,2,3] %}{{ loop.cycle('a','b') }}{{ loop.previtem }}{{ loop.nextitem }}{% endfor %}",
         "", "a2b13a2"),
        ("{% set x = 0 %}{% for i in range(3) %}{% set x = x + 1 %}{{ x }}{% endfor %}|{{ x }}",
         "", "111|0"),
        ("{% set ns = namespace(n=0, s='') %}{% for i in range(3) %}{% set ns.n = ns.n + i %}{% set ns.s = ns.s ~ i %}{% endfor %}{{ ns.n }} {{ ns.s }}",
         "", "3 012"),
        ("{% set greeting %}Hello {{ name }}{% endset %}{{ greeting|upper }}",
         "{\"name\": \"x\"}", "HELLO X"),
        ("{% set a, b = 1, 2 %}{{ a + b }}",
         "", "3"),
        ("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Bob') }} {{ greet('Al', punct='?') }}",
         "", "Hi Bob! Hi Al?"),
        ("{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold{% endcall %}",
         "", "<b>bold</b>"),
        ("{% macro f(n) %}{{ n }}{% if n > 0 %}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(3) }}",
         "", "3210"),
        ("{% with a = 2 %}{{ a * 3 }}{% endwith %}{{ a is defined }}",
         "", "6False"),
        ("{% filter upper %}abc{% endfilter %}",
         "", "ABC"),
        ("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 1 / 4 }} {{ 3 * 'ab' }} {{ 'a' ~ 1 ~ none }} {{ 7.5 // 2 }} {{ -7.5 % 2 }}",
         "", "3 -4 1 2 1024 0.25 ababab a1None 3.0 0.5"),
        ("{{ 'hello'[1:3] }} {{ 'hello'[::-1] }} {{ [1,2,3,4][1:] }} {{ [1,2,3,4][-2:] }} {{ [1,2,3,4][::2] }} {{ 'abc'[-1] }} {{ [1,2,3][5:] }} {{ [1,2,3,4][3:0:-1] }}",
         "", "el olleh [2, 3, 4] [3, 4] [1, 3] c [] [4, 3, 2]"),
        ("{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' in 'cat' }} {{ 'x' not in ['a'] }} {{ not none }} {{ none or 'd' }} {{ 0 and 1 }} {{ 1 == 1.0 }} {{ true == 1 }} {{ [1] == (1,) }}",
         "", "True False True True True d 0 True True False"),
        ("{{ 'y' if x else 'n' }}{{ 'z' if false }}|{{ 'a' if true else 'b' if true else 'c' }}",
         "", "n|a"),
        ("{{ x is defined }}{{ none is none }}{{ 'a' is string }}{{ 1 is integer }}{{ true is integer }}{{ 1.5 is float }}{{ {} is mapping }}{{ [] is iterable }}{{ 3 is odd }}{{ 4 is divisibleby 2 }}{{ x is undefined }}{{ 'A' is upper }}{{ 1 is number }}{{ false is false }}{{ 'ab' is sequence }}{{ x is iterable }}{{ 1 is not string }}",
         "", "FalseTrueTrueTrueFalseTrueTrueTrueTrueTrueTrueTrueTrueTrueTrueTrueTrue"),
        ("{{ [1, 'a', none, true, 1.5] }} {{ {'a': [1, 2]} }} {{ (1, 2) }} {{ ('a',) }} {{ 1e3 }} {{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1e15 }} {{ 1e-5 }} {{ 0.0001 }} {{ -0.0 }} {{ 1_000 }} {{ 0x1F }} {{ \"it's\" }} {{ ['a\\nb', \"q'\"] }}",
         "", "[1, 'a', None, True, 1.5] {'a': [1, 2]} (1, 2) ('a',) 1000.0 0.30000000000000004 1e+16 1000000000000000.0 1e-05 0.0001 -0.0 1000 31 it's ['a\\nb', \"q'\"]"),
        ("{{ m.role }}{{ m['content'] }}{{ m.missing }}{{ m.missing is defined }}{{ l[0] }}{{ l[9] }}{{ l.0 }}{{ m.get('role') }}",
         "{\"m\": {\"role\": \"user\", \"content\": \"hi\"}, \"l\": [\"a\"]}", "userhiFalseaauser"),
        ("{{ ' a '|trim }}|{{ 'abc'|upper }}|{{ 'ABC'|lower }}|{{ [1,2,3]|length }}|{{ 'hello wORLD-x (y'|title }}|{{ 'hELLO'|capitalize }}|{{ [1,2]|first }}|{{ [1,2]|last }}|{{ x|default('d') }}|{{ ''|default('d', true) }}|{{ 5|string }}|{{ '42'|int + 1 }}|{{ 'x'|int }}|{{ '3.9'|int }}|{{ 'aXa'|replace('a', 'b') }}|{{ ['a','b']|join(', ') }}|{{ [1,2]|join }}|{{ 'xx'|trim('x') }}|{{ -3|abs }}|{{ 2.5|round }}|{{ 3.14159|round(2) }}|{{ '1.5'|float }}|{{ 'abc'|reverse }}|{{ 'a b  c'|wordcount }}|{{ 'abc'|center(7) }}|",
         "", "a|ABC|abc|3|Hello World-X (Y|Hello|1|2|d|d|5|43|0|3|bXb|a, b|12||3|2.0|3.14|1.5|cba|3|  abc  |"),
        ("{{ {'b': 1, 'a': [1, 'é\\n\"', none, true, 2.5]}|tojson }}|{{ {'a': {'b': [], 'c': {}}, 'd': [1, 2]}|tojson(indent=2) }}|{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}|{{ [1, 2]|tojson(separators=(',', ':')) }}|{{ 'é'|tojson(ensure_ascii=true) }}|{{ '\\u0001\\t'|tojson }}",
         "", "{\"b\": 1, \"a\": [1, \"é\\n\\\"\", null, true, 2.5]}|{\n  \"a\": {\n    \"b\": [],\n    \"c\": {}\n  },\n  \"d\": [\n    1,\n    2\n  ]\n}|{\"a\": 2, \"b\": 1}|[1,2]|\"\\u00e9\"|\"\\u0001\\t\""),
        ("{{ ms|selectattr('role', 'equalto', 'user')|map(attribute='content')|join(',') }}|{{ ms|rejectattr('role', 'eq', 'user')|list|length }}|{{ [1,2,3,4]|select('odd')|list }}|{{ [1,0,2]|select|list }}|{{ ['a','b']|map('upper')|list }}|{{ [3,1,2,1]|unique|list }}|{{ [3,1,2]|sort }}|{{ ['b','A','c']|sort(reverse=true) }}|{{ ms|map(attribute='x', default='-')|join }}|{{ [1,2,3]|sum }}|{{ [3,1,2]|min }}{{ [3,1,2]|max }}|{{ {'b':1,'a':2}|dictsort }}|{{ 'a\\nb\\n\\nc'|indent(2) }}|{{ 'x\\ny'|indent(2, true) }}|{{ ms|selectattr('content')|list|length }}|{{ [1, 2]|map('string')|join('+') }}",
         "{\"ms\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"assistant\", \"content\": \"\"}, {\"role\": \"user\", \"content\": \"c\"}]}", "a,c|1|[1, 3]|[1, 2]|['A', 'B']|[3, 1, 2]|[1, 2, 3]|['c', 'b', 'A']|---|6|13|[('a', 2), ('b', 1)]|a\n  b\n\n  c|  x\n  y|2|1+2"),
        ("{{ '  x  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '  x'.lstrip() }}|{{ 'x  '.rstrip() }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'a b c'.rsplit(' ', 1) }}|{{ 'hello'.startswith('he') }}|{{ 'hello'.endswith(('x', 'lo')) }}|{{ 'Hi'.upper() }}|{{ 'Hi'.lower() }}|{{ 'aaa'.replace('a', 'b', 2) }}|{{ d.get('a') }}|{{ d.get('z', 'none') }}|{{ d.get('q') }}|{{ d.items()|list }}|{{ d.keys()|list }}|{{ d.values()|list }}|{{ \"they're bill's\".title() }}|{{ 'a-b'.find('-') }}|{{ 'a\\nb\\r\\nc'.splitlines() }}|{{ 'abcabc'.count('bc') }}|{{ '-'.join(['a','b']) }}|{{ '<think>x</think>y'.split('</think>')[-1] }}|{{ 'abc'.capitalize() }}",
         "{\"d\": {\"a\": 1, \"b\": \"two\"}}", "x|hi|x|x|['a', 'b', '', 'c']|['a', 'b']|['a', 'b c']|['a b', 'c']|True|True|HI|hi|bba|1|none|None|[('a', 1), ('b', 'two')]|['a', 'b']|[1, 'two']|They'Re Bill'S|1|['a', 'b', 'c']|2|a-b|y|Abc"),
        ("{{ range(3)|list }} {{ range(1, 10, 3)|list }} {{ range(5, 0, -2)|list }} {{ dict(a=1, b=[2])|tojson }} {{ strftime_now('%d %b %Y %H:%M %A %B %j %y %m %I%p') }}",
         "", "[0, 1, 2] [1, 4, 7] [5, 3, 1] {\"a\": 1, \"b\": [2]} 05 Mar 2025 12:00 Wednesday March 064 25 03 12PM"),
        ("{{ x }}|{{ x|length }}|{{ x|trim }}|{% for i in x %}no{% endfor %}|{{ x ~ 'a' }}|{{ x|default('d') }}|{{ x|list }}|{{ x|string }}|{{ x|upper }}|{{ x == x }}|{{ 'a' in x }}|{{ x|first is defined }}|{{ x is string }}|{{ x|items|list }}|{{ x|join }}|{{ not x }}|{{ x|sort }}|{{ x|map(attribute='a')|list }}",
         "", "|0|||a|d|[]|||True|False|False|False|[]||True|[]|[]"),
        ("{% set xs = [1, 2] %}{% set ys = xs + [3] %}{{ ys }}{{ xs|length }}{% if xs %}t{% endif %}{{ [] or 'e' }}{{ [1,2] * 2 }}",
         "", "[1, 2, 3]2te[1, 2, 1, 2]"),
        ("{% for m in messages %}{% for c in m.content %}{{ c }}{% endfor %}{% endfor %}{{ loop is defined }}",
         "{\"messages\": [{\"content\": \"ab\"}]}", "abFalse"),
        ("{% set d = {'k': 'v'} %}{{ d.k }}{{ d['k'] }}{% set t = (1, 'a') %}{{ t[1] }}{{ t|length }}",
         "", "vva2"),
        ("{%- for i in range(2) -%}\n  {{ i }}\n{%- endfor %}\n",
         "", "01"),
        ("{% if a %}A{% elif b %}B{% elif c %}C{% else %}D{% endif %}",
         "{\"b\": 0, \"c\": \"x\"}", "C"),
        ("{{ 'x' if 'y' is string and not none }}{{ (1 + 2) * 3 }}{{ -2 ** 2 }}{{ 2 + 3 * 4 - 1 }}{{ 10 - 2 - 3 }}{{ 'a' + 'b' ~ 1 }}",
         "", "x94135ab1"),
        ("{% generation %}Gen{% endgeneration %}",
         "", "Gen"),
    ]

    @Test func constructsRenderAsJinja() throws {
        for (template, variables, expected) in Self.constructs {
            let rendered = try Self.render(template, variables)
            #expect(rendered == expected, "\(template.debugDescription) rendered \(rendered.debugDescription)")
        }
    }

    @Test func undefinedBehavesAsJinjasDefault() throws {
        for template in ["{{ x.y }}", "{{ x[0] }}", "{{ x + 1 }}", "{{ x() }}", "{{ x < 1 }}", "{{ x|int }}", "{{ x|tojson }}",
                         "{{ x.strip() }}"] {
            #expect(Self.failure(template)?.contains("'x' is undefined") == true, "\(template)")
        }
        // A missing attribute of a defined value is undefined, not an error; using it further is.
        #expect(try Self.render("{{ m.a }}{{ m.a is defined }}{{ none.a }}", #"{"m": {}}"#) == "False")
        #expect(Self.failure("{{ m.a.b }}", #"{"m": {}}"#)?.contains("has no attribute 'a'") == true)
    }

    @Test func strftimeNowReadsTheGivenTime() throws {
        var options = Self.options()
        #expect(try Self.render("{{ strftime_now('%d %b %Y') }}", options: options) == "05 Mar 2025")
        options.timeZone = TimeZone(secondsFromGMT: 13 * 3600)!
        #expect(try Self.render("{{ strftime_now('%d %B %Y, %H:%M') }}", options: options) == "06 March 2025, 01:00")
        #expect(Self.failure("{{ strftime_now('%Q') }}")?.contains("unsupported strftime_now directive '%Q'") == true)
    }

    // MARK: Errors

    @Test func unsupportedConstructsAreNamed() throws {
        let cases: [(String, String)] = [
            ("{{ 'a'|xyz }}", "unsupported filter 'xyz'"),
            ("{{ 1 is prime }}", "unsupported test 'prime'"),
            ("{% include 'x.jinja' %}", "unsupported tag '{% include %}'"),
            ("{% extends 'base' %}", "unsupported tag '{% extends %}'"),
            ("{% import 'm' as m %}", "unsupported tag '{% import %}'"),
            ("{{ '{}'.format(1) }}", "unsupported string method 'format'"),
            ("{{ [1].append(2) }}", "changes a list"),
            ("{{ {'a': 1}.update({}) }}", "changes a dict"),
            ("{{ '%s' % 1 }}", "printf-style string formatting"),
            ("{% for x in [1] recursive %}{% endfor %}", "recursive for loop"),
            ("{{ f(*args) }}", "argument unpacking '*'"),
            ("{% for x in [1] %}{{ loop.changed(x) }}{% endfor %}", "unsupported 'loop.changed'"),
            ("{{ {1: 'a'} }}", "dict key that is not a string"),
        ]
        for (template, fragment) in cases {
            let reason = Self.failure(template)
            #expect(reason?.contains(fragment) == true, "\(template): \(reason ?? "no error")")
        }
        // Unsupported filters in branches not taken do not matter, as for any unreached code.
        #expect(try Self.render("{% if false %}{{ 'a'|xyz }}{% endif %}ok") == "ok")
    }

    @Test func raiseExceptionCarriesItsMessage() {
        do {
            _ = try Self.render("{% if messages|length > 1 %}{{ raise_exception('Only one message, please!') }}{% endif %}",
                                #"{"messages": [1, 2]}"#)
            Issue.record("raise_exception did not throw")
        } catch ScoreError.invalidArgument(let message) {
            #expect(message.contains("test.jinja") && message.hasSuffix("Only one message, please!"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func malformedTemplatesThrow() {
        let deep = "{{ " + String(repeating: "(", count: 200) + "1" + String(repeating: ")", count: 200) + " }}"
        let nots = "{{ " + String(repeating: "not ", count: 500) + "x }}"
        let minus = "{{ " + String(repeating: "-", count: 500) + "1 }}"
        let nested = String(repeating: "{% if true %}", count: 200) + String(repeating: "{% endif %}", count: 200)
        let chain = "{{ x" + String(repeating: " | trim", count: 5000) + " }}"
        let sum = "{{ " + Array(repeating: "1", count: 5000).joined(separator: " + ") + " }}"
        let templates = [
            "{% if x %}", "{% for %}", "{% for x in %}{% endfor %}", "{{ 1 + }}", "{{ ", "{{ x", "{% endif %}", "{{ (1 }}",
            "{{ [1, 2 }}", "{{ {'a' 1} }}", "{% if %}{% endif %}", "{# never closed", "{{ 'unterminated }}", "{% set = 3 %}",
            "{% for x in y %}{% endfor", "{{ x | }}", "{{ x is }}", "{% macro %}{% endmacro %}", "{{ 1 +* 2 }}", "{{ ) }}",
            "{% if a %}{% else %}{% else %}{% endif %}", "{% if a %}{% endfor %}", "{% break %}", "{% else %}", "{{ '\\x4' }}",
            "{{ a.1.2 }}", "{% raw %}never ends", "{{ x[] }}", "{{ f(a=1, 2) }}",
            "{% set x %}no end", "{% call foo %}{% endcall %}", "{{ @ }}", "{% for x in [1] %}{% endfor %}{% endfor %}",
            "{% with a %}{% endwith %}", "{% filter %}{% endfilter %}", "{% generation x %}{% endgeneration %}",
            "{{ x if }}", "{{ [1][ }}", "{% set a.b.c = 1 %}", "{% macro f(a b) %}{% endmacro %}", "{{ '\\N{DASH}' }}",
            deep, nots, minus, nested, chain, sum,
            // Valid Jinja that the interpreter refuses: an integer beyond 64 bits.
            "{{ 99999999999999999999 }}",
        ]
        for template in templates {
            do {
                _ = try JinjaTemplate(template, source: "bad.jinja").render([:])
                Issue.record("\(template.prefix(60).debugDescription) did not throw")
            } catch ScoreError.invalidFile(let path, let reason) {
                #expect(path == "bad.jinja" && !reason.isEmpty)
            } catch {
                Issue.record("\(template.prefix(60).debugDescription): unexpected \(error)")
            }
        }
    }

    @Test func hostileTemplatesHitLimits() {
        var options = Self.options()
        options.maximumOutput = 10_000
        let cases: [(String, String)] = [
            ("{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(10) %}{% endfor %}{% endfor %}{% endfor %}",
             "loop iterations"),
            ("{{ 'a' * 100000000 }}", "repetition too large"),
            ("{{ [1] * 9223372036854775807 }}", "repetition too large"),
            ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "nested more than"),
            ("{{ 9223372036854775807 + 1 }}", "integer overflow"),
            ("{{ -9223372036854775807 - 2 }}", "integer overflow"),
            ("{{ 2 ** 64 }}", "integer overflow"),
            ("{{ 1 // 0 }}", "by zero"),
            ("{{ 1 % 0 }}", "by zero"),
            ("{{ 1.0 / 0 }}", "by zero"),
            ("{{ range(10000000)|length }}", "range() of more than"),
            ("{{ [1, 2][::0] }}", "slice step cannot be zero"),
            ("{% for i in range(100) %}{{ 'x' * 1000 }}{% endfor %}", "wrote more than"),
            ("{{ 'a' < 1 }}", "not supported between"),
            ("{% for x in none %}{% endfor %}", "not iterable"),
            ("{% set a, b = [1] %}", "not enough values to unpack"),
            ("{% set n.a = 1 %}", "not a namespace"),
            ("{{ 1 is divisibleby 0 }}", "non-zero integer"),
            // 300 chained filters parse (under 1000 per tag) but nest too deep to evaluate.
            ("{{ 'x'" + String(repeating: "|trim", count: 300) + " }}", "levels deep"),
            ("{% macro f(n) %}{% if n %}{% if n %}{% if n %}{% if n %}{% if n %}{% if n %}{% if n %}{% if n %}{{ f(n - 1) }}"
                + "{% endif %}{% endif %}{% endif %}{% endif %}{% endif %}{% endif %}{% endif %}{% endif %}"
                + "{% endmacro %}{{ f(30) }}", "levels deep"),
        ]
        for (template, fragment) in cases {
            let reason = Self.failure(template, options: options)
            #expect(reason?.contains(fragment) == true, "\(template): \(reason ?? "no error")")
        }
    }

    // MARK: Layouts derived from real templates

    /// A small byte-level BPE (Fixtures/chat/tokenizers/qwen.json) with the special tokens of
    /// every family here added after its vocabulary.
    static func familyTokenizer() throws -> BPETokenizer {
        let url = try folder().deletingLastPathComponent().appendingPathComponent("chat/tokenizers/qwen.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var added = json["added_tokens"] as! [[String: Any]]
        let names = [
            "<bos>", "<eos>", "<pad>", "<unk>", "<start_of_turn>", "<end_of_turn>", "<s>", "</s>", "<|user|>", "<|assistant|>",
            "<|end|>", "<|system|>", "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
            "<|eot_id|>", "[INST]", "[/INST]", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>",
        ]
        for (offset, name) in names.enumerated() {
            added.append(["id": 423 + offset, "content": name, "single_word": false, "lstrip": false, "rstrip": false,
                          "normalized": false, "special": true])
        }
        json["added_tokens"] = added
        return try BPETokenizer(json: JSONSerialization.data(withJSONObject: json), path: "families.json")
    }

    /// The layouts of the real templates: pieces, end-of-turn token, trimming, and ids equal to
    /// transformers' renderings of the fixture conversations, tokenized with special tokens.
    @Test func layoutsDerivedFromRealTemplates() throws {
        let tokenizer = try Self.familyTokenizer()
        let header = try Self.decode(Header.self, "conversations.json")
        let expectedPieces: [String: (ChatTemplate.Family, Bool, [String])] = [
            "gemma-2": (.other, true, ["<bos>", "<start_of_turn>user\n", "<end_of_turn>\n", "<start_of_turn>model\n",
                                       "<end_of_turn>", "\n", ""]),
            "gemma-3": (.other, true, ["<bos>", "<start_of_turn>user\n", "<end_of_turn>\n", "<start_of_turn>model\n",
                                       "<end_of_turn>", "\n", ""]),
            "phi-3": (.other, false, ["", "<|user|>\n", "<|end|>\n", "<|assistant|>\n", "<|end|>", "\n", "<|endoftext|>"]),
            "phi-4-mini": (.other, false, ["", "<|user|>", "<|end|>", "<|assistant|>", "<|end|>", "", "<|endoftext|>"]),
            "qwen2.5": (.chatML, false, [
                "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n",
                "<|im_start|>user\n", "<|im_end|>\n", "<|im_start|>assistant\n", "<|im_end|>", "\n", ""]),
            "smollm2": (.chatML, false, [
                "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n",
                "<|im_start|>user\n", "<|im_end|>\n", "<|im_start|>assistant\n", "<|im_end|>", "\n", ""]),
            "minicpm3": (.chatML, false, ["", "<|im_start|>user\n", "<|im_end|>\n", "<|im_start|>assistant\n", "<|im_end|>", "\n", ""]),
            "llama-3": (.llama3, true, ["<|begin_of_text|>", "<|start_header_id|>user<|end_header_id|>\n\n", "<|eot_id|>",
                                        "<|start_header_id|>assistant<|end_header_id|>\n\n", "<|eot_id|>", "", ""]),
            "llama-3.1": (.llama3, true, [
                "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n"
                    + "Today Date: 26 Jul 2024\n\n<|eot_id|>",
                "<|start_header_id|>user<|end_header_id|>\n\n", "<|eot_id|>", "<|start_header_id|>assistant<|end_header_id|>\n\n",
                "<|eot_id|>", "", ""]),
            "llama-3.2": (.llama3, true, [
                "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n"
                    + "Today Date: 05 Mar 2025\n\n<|eot_id|>",
                "<|start_header_id|>user<|end_header_id|>\n\n", "<|eot_id|>", "<|start_header_id|>assistant<|end_header_id|>\n\n",
                "<|eot_id|>", "", ""]),
        ]
        for (name, (family, trims, pieces)) in expectedPieces.sorted(by: { $0.key < $1.key }) {
            let entry = try Self.entry(name)
            let template = try ChatTemplate(
                tokenizer: tokenizer, template: entry.chat_template, bosToken: entry.bos_token, eosToken: entry.eos_token,
                padToken: entry.pad_token, unkToken: entry.unk_token, source: name, now: Self.options().now)
            #expect(template.family == family, "\(name)")
            #expect(template.trimsMessages == trims, "\(name)")
            #expect(try template.pieceTexts() == pieces, "\(name)")
            #expect(template.stopTokenIds.first == template.endOfTurn)
            if let eos = entry.eos_token { #expect(template.stopTokenIds.contains(try #require(tokenizer.id(forSpecialToken: eos)))) }
            let expected = try Self.decode([String: Expected].self, "expected/\(name).json")
            for caseName in ["single", "single_no_prompt", "exchange", "full"] {
                let conversation = try #require(header.conversations[caseName])
                guard case .array(let items) = conversation.messages else { continue }
                let messages = items.compactMap { item -> ChatMessage? in
                    guard case .object(let fields) = item, case .string(let role)? = fields["role"],
                          case .string(let content)? = fields["content"], let kind = ChatMessage.Role(rawValue: role) else { return nil }
                    return ChatMessage(role: kind, content: content)
                }
                let text = try #require(expected[caseName]?.text)
                #expect(template.tokens(for: messages, addGenerationPrompt: conversation.add_generation_prompt)
                    == tokenizer.encode(text, parseSpecialTokens: true), "\(name) \(caseName)")
            }
        }
    }

    @Test func templatesWhoseLayoutCannotBeDerivedAreRefused() throws {
        let tokenizer = try Self.familyTokenizer()
        let refusals: [String: String] = [
            "deepseek-llm-chat": "generation prompt \"Assistant:\" differs",
            // Its generation prompt opens a reasoning block that rendered answers do not have.
            "deepseek-r1-distill": "generation prompt \"<｜Assistant｜><think>\\n\" differs",
            // It writes a space before each answer but not as the generation prompt.
            "mistral-v0.3": "generation prompt \"\" differs from the text before an assistant message \" \"",
            // It gives the answer after the last question an empty reasoning block.
            "qwen3": "\"<|im_start|>assistant\\n<think>\\n\\n</think>\\n\\n\"",
        ]
        for (name, fragment) in refusals.sorted(by: { $0.key < $1.key }) {
            let entry = try Self.entry(name)
            do {
                _ = try ChatTemplate(tokenizer: tokenizer, template: entry.chat_template, bosToken: entry.bos_token,
                                     eosToken: entry.eos_token, source: "\(name).json")
                Issue.record("\(name) was accepted")
            } catch ScoreError.invalidFile(let path, let reason) {
                #expect(path == "\(name).json")
                #expect(reason.contains(fragment) && reason.contains("ChatTemplate.custom"), "\(name): \(reason)")
            }
        }
    }

    @Test func dateIsInjectable() throws {
        let tokenizer = try Self.familyTokenizer()
        let entry = try Self.entry("llama-3.2")
        let dated = try ChatTemplate(tokenizer: tokenizer, template: entry.chat_template, bosToken: entry.bos_token,
                                     date: "01 Jan 2030")
        #expect(try dated.pieceTexts()[0].contains("Today Date: 01 Jan 2030\n"))
        let now = try #require(Calendar(identifier: .gregorian).date(from: DateComponents(
            timeZone: TimeZone.current, year: 2031, month: 2, day: 3, hour: 12)))
        let today = try ChatTemplate(tokenizer: tokenizer, template: entry.chat_template, bosToken: entry.bos_token, now: now)
        #expect(try today.pieceTexts()[0].contains("Today Date: 03 Feb 2031\n"))
    }
}
