"""Recursive-descent parser: ``.x`` text -> resolved :class:`~virtwire.xdr.ast.Specification`.

Grammar: RFC 4506 section 6.3 plus RFC 5531 ``program``/``version`` blocks, with libvirt's
rpcgen dialect (``char``/``short`` types, bare ``struct X`` type names, ``%`` lines handled by
the lexer).  Constants are evaluated as they are read, so a constant must be defined (in the
file or by the caller) before its first use, which is also what C's rpcgen output requires.
Type references are checked after the whole file is read, so types may be used before they
are defined and may refer to themselves through optional data (linked lists).

Anonymous ``struct {...}``/``union switch ...``/``enum {...}`` type specifiers inside a
declaration are given the name ``<outer>_<field>`` and become ordinary definitions.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from virtwire.xdr import ast
from virtwire.xdr.lexer import Token, doc_annotations, tokenize
from virtwire.xdr.runtime import XdrParseError

log = logging.getLogger("virtwire.xdr")

_BASE_KEYWORDS = {"int", "hyper", "char", "short", "long"}
_DISCRIMINANT_BASES = {"int", "unsigned int", "bool", "char", "unsigned char", "short"}
_DISCRIMINANT_BASES |= {"unsigned short"}
#: rpcgen output is C, where TRUE/FALSE exist; RFC 4506 spells bool as enum { FALSE, TRUE }.
_IMPLICIT_CONSTANTS = {"TRUE": 1, "FALSE": 0}


class _Parser:
    def __init__(self, text: str, filename: str, constants: Mapping[str, int]) -> None:
        self.filename = filename
        self.tokens = tokenize(text, filename)
        self.pos = 0
        self.caller_constants = dict(constants)
        self.constants: dict[str, int] = {}
        self.external: list[str] = []
        self.definitions: list[ast.Definition] = []
        self.types: dict[str, ast.TypeDefinition] = {}
        self.type_lines: dict[str, int] = {}
        self.references: list[ast.NamedType] = []
        self.scope: list[str] = []  # names of enclosing definitions, for anonymous types

    # -- token helpers -------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        tok = self.tokens[self.pos]
        if tok.kind != "eof":
            self.pos += 1
        return tok

    def error(self, message: str, tok: Token, expected: str | None = None) -> XdrParseError:
        return XdrParseError(message, self.filename, tok.line, tok.col, expected)

    def unexpected(self, tok: Token, expected: str) -> XdrParseError:
        return self.error(f"unexpected {tok.describe()}", tok, expected)

    def accept(self, text: str) -> Token | None:
        tok = self.peek()
        if tok.text == text and tok.kind in ("punct", "keyword"):
            self.pos += 1
            return tok
        return None

    def expect(self, text: str) -> Token:
        tok = self.peek()
        if tok.text == text and tok.kind in ("punct", "keyword"):
            self.pos += 1
            return tok
        raise self.unexpected(tok, repr(text))

    def ident(self, what: str = "an identifier") -> Token:
        tok = self.peek()
        if tok.kind != "ident":
            if tok.kind == "keyword":
                raise self.error(f"keyword {tok.text!r} cannot be used as a name", tok, what)
            raise self.unexpected(tok, what)
        self.pos += 1
        return tok

    # -- values --------------------------------------------------------------------------

    def value(self, what: str = "a constant or number") -> int:
        """``value: constant | identifier`` (a leading ``-`` is allowed on both)."""
        negative = self.accept("-") is not None
        tok = self.peek()
        if tok.kind == "number":
            self.pos += 1
            text = tok.text
            if text[:2] in ("0x", "0X"):
                number = int(text, 16)
            elif len(text) > 1 and text[0] == "0":
                try:
                    number = int(text, 8)
                except ValueError:
                    raise self.error(f"invalid octal number {text!r}", tok) from None
            else:
                number = int(text)
        elif tok.kind == "ident":
            self.pos += 1
            number = self.lookup_constant(tok)
        else:
            raise self.unexpected(tok, what)
        return -number if negative else number

    def lookup_constant(self, tok: Token) -> int:
        name = tok.text
        if name in self.constants:
            return self.constants[name]
        if name in self.caller_constants or name in _IMPLICIT_CONSTANTS:
            number = int(self.caller_constants.get(name, _IMPLICIT_CONSTANTS.get(name, 0)))
            self.constants[name] = number
            self.external.append(name)
            return number
        raise self.error(
            f"undefined constant {name!r} (define it in the file or supply it with "
            f"--const {name}=VALUE)",
            tok,
        )

    def define_constant(self, tok: Token, number: int) -> None:
        if tok.text in self.constants:
            raise self.error(f"constant {tok.text!r} defined twice", tok)
        self.constants[tok.text] = number

    def size(self, close: str) -> int:
        """The N of ``[N]`` or ``<N>``; must be a non-negative 32-bit count."""
        tok = self.peek()
        number = self.value("a size")
        if not 0 <= number <= ast.UNBOUNDED:
            raise self.error(f"size {number} out of range 0..{ast.UNBOUNDED}", tok)
        self.expect(close)
        return number

    # -- definitions ---------------------------------------------------------------------

    def specification(self) -> ast.Specification:
        while self.peek().kind != "eof":
            self.definition()
        self.check_references()
        return ast.Specification(
            source=self.filename,
            definitions=tuple(self.definitions),
            constants=MappingProxyType(dict(self.constants)),
            external=tuple(self.external),
            types=MappingProxyType(dict(self.types)),
        )

    def definition(self) -> None:
        tok = self.peek()
        if tok.text == "const" and tok.kind == "keyword":
            self.next()
            name = self.ident("a constant name")
            self.expect("=")
            number = self.value()
            self.expect(";")
            self.define_constant(name, number)
            self.definitions.append(ast.Const(name.text, number, name.line))
        elif tok.kind == "keyword" and tok.text in ("struct", "union", "enum"):
            self.next()
            name = self.ident(f"a {tok.text} name")
            self.scope.append(name.text)
            if tok.text == "struct":
                definition = self.struct_body(name)
            elif tok.text == "union":
                definition = self.union_body(name)
            else:
                definition = self.enum_body(name)
            self.scope.pop()
            self.expect(";")
            self.add_type(definition, name)
        elif tok.text == "typedef" and tok.kind == "keyword":
            self.next()
            self.scope.append("")
            decl, name = self.declaration(allow_void=False)
            self.scope.pop()
            self.expect(";")
            self.add_type(ast.Typedef(name.text, decl, name.line), name)
        elif tok.text == "program" and tok.kind == "keyword":
            self.definitions.append(self.program())
        else:
            raise self.unexpected(tok, "'const', 'typedef', 'enum', 'struct', 'union' or 'program'")

    def add_type(self, definition: ast.TypeDefinition, name: Token) -> None:
        if definition.name in self.types:
            first = self.type_lines[definition.name]
            raise self.error(f"type {definition.name!r} already defined on line {first}", name)
        self.types[definition.name] = definition
        self.type_lines[definition.name] = name.line
        self.definitions.append(definition)

    def enum_body(self, name: Token) -> ast.Enum:
        self.expect("{")
        values: list[ast.EnumValue] = []
        seen: set[str] = set()
        previous = -1
        while True:
            member = self.ident("an enum value name")
            # without "= value": C-style implicit value, accepted by rpcgen
            number = self.value() if self.accept("=") else previous + 1
            if not -(2**31) <= number <= 2**31 - 1:
                raise self.error(f"enum value {number} does not fit a 32-bit int", member)
            if member.text in seen:
                raise self.error(f"enum value {member.text!r} defined twice", member)
            seen.add(member.text)
            self.define_constant(member, number)
            values.append(
                ast.EnumValue(
                    member.text, number, member.doc, doc_annotations(member.doc), member.line
                )
            )
            previous = number
            if self.accept(","):
                if self.peek().text == "}":
                    break  # trailing comma
                continue
            break
        self.expect("}")
        return ast.Enum(name.text, tuple(values), name.line)

    def struct_body(self, name: Token) -> ast.Struct:
        self.expect("{")
        fields: list[ast.Declaration] = []
        names: set[str] = set()
        while True:
            decl, field = self.declaration(allow_void=False)
            self.expect(";")
            if field.text in names:
                raise self.error(f"field {field.text!r} defined twice", field)
            names.add(field.text)
            fields.append(decl)
            if self.accept("}"):
                break
            if self.peek().kind == "eof":
                raise self.unexpected(self.peek(), "a field declaration or '}'")
        return ast.Struct(name.text, tuple(fields), name.line)

    def union_body(self, name: Token) -> ast.Union:
        self.expect("switch")
        self.expect("(")
        self.scope.append("")
        disc, disc_name = self.declaration(allow_void=False)
        self.scope.pop()
        self.expect(")")
        self.expect("{")
        cases: list[ast.Case] = []
        default: ast.Declaration | None = None
        seen: dict[int, str] = {}
        while True:
            tok = self.peek()
            if tok.text == "case" and tok.kind == "keyword":
                values: list[int] = []
                labels: list[str] = []
                while self.accept("case"):
                    label_tok = self.peek()
                    start = self.pos
                    number = self.value("a case label")
                    label = "".join(t.text for t in self.tokens[start : self.pos])
                    self.expect(":")
                    if number in seen:
                        raise self.error(
                            f"case value {number} already used by case {seen[number]}", label_tok
                        )
                    seen[number] = label
                    values.append(number)
                    labels.append(label)
                decl, _ = self.declaration(allow_void=True)
                self.expect(";")
                cases.append(ast.Case(tuple(values), tuple(labels), decl))
            elif tok.text == "default" and tok.kind == "keyword":
                self.next()
                self.expect(":")
                default, _ = self.declaration(allow_void=True)
                self.expect(";")
                self.expect("}")
                break
            elif tok.text == "}" and cases:
                self.next()
                break
            else:
                raise self.unexpected(tok, "'case'" if not cases else "'case', 'default' or '}'")
        if disc.shape is not ast.Shape.SCALAR:
            raise self.error("a union discriminant must be a plain scalar", disc_name)
        return ast.Union(name.text, disc, tuple(cases), default, name.line)

    def program(self) -> ast.Program:
        self.expect("program")
        name = self.ident("a program name")
        self.expect("{")
        versions: list[ast.Version] = []
        while self.peek().text == "version":
            self.next()
            vname = self.ident("a version name")
            self.expect("{")
            procedures: list[ast.Procedure] = []
            while not self.accept("}"):
                procedures.append(self.procedure())
            self.expect("=")
            vnum = self.value("a version number")
            self.expect(";")
            self.define_constant(vname, vnum)
            versions.append(ast.Version(vname.text, vnum, tuple(procedures), vname.line))
        if not versions:
            raise self.unexpected(self.peek(), "'version'")
        self.expect("}")
        self.expect("=")
        number = self.value("a program number")
        self.expect(";")
        self.define_constant(name, number)
        return ast.Program(name.text, number, tuple(versions), name.line)

    def procedure(self) -> ast.Procedure:
        first = self.peek()
        result = None if self.accept("void") else self.type_specifier(anonymous=False)
        name = self.ident("a procedure name")
        self.expect("(")
        args: list[ast.TypeSpec] = []
        if self.peek().text == "void" and self.peek(1).text == ")":
            self.next()
        else:
            args.append(self.type_specifier(anonymous=False))
            while self.accept(","):
                args.append(self.type_specifier(anonymous=False))
        self.expect(")")
        self.expect("=")
        number = self.value("a procedure number")
        self.expect(";")
        self.define_constant(name, number)
        doc = first.doc
        return ast.Procedure(
            name.text, number, result, tuple(args), doc, doc_annotations(doc), name.line
        )

    # -- declarations and type specifiers -------------------------------------------------

    def declaration(self, allow_void: bool) -> tuple[ast.Declaration, Token]:
        tok = self.peek()
        if tok.kind == "keyword" and tok.text == "void":
            if not allow_void:
                raise self.error("'void' is only allowed as a union arm", tok, "a declaration")
            self.next()
            return ast.Declaration(None, None, ast.Shape.VOID, None, tok.line), tok
        if tok.kind == "keyword" and tok.text in ("opaque", "string"):
            self.next()
            name = self.ident("a field name")
            if tok.text == "string":
                if self.accept("<"):
                    size = ast.UNBOUNDED if self.accept(">") else self.size(">")
                    return self.decl(name, ast.BaseType("string"), ast.Shape.VARIABLE, size)
                raise self.unexpected(self.peek(), "'<' (strings are variable-length)")
            if self.accept("["):
                size = self.size("]")
                return self.decl(name, ast.BaseType("opaque"), ast.Shape.FIXED, size)
            if self.accept("<"):
                size = ast.UNBOUNDED if self.accept(">") else self.size(">")
                return self.decl(name, ast.BaseType("opaque"), ast.Shape.VARIABLE, size)
            raise self.unexpected(self.peek(), "'[' or '<' after opaque")
        pending = self.type_specifier(anonymous=True)
        if self.accept("*"):
            name = self.ident("a field name")
            spec = self.finish_anonymous(pending, name)
            return self.decl(name, spec, ast.Shape.OPTIONAL, None)
        name = self.ident("a field name")
        spec = self.finish_anonymous(pending, name)
        if self.accept("["):
            return self.decl(name, spec, ast.Shape.FIXED, self.size("]"))
        if self.accept("<"):
            size = ast.UNBOUNDED if self.accept(">") else self.size(">")
            return self.decl(name, spec, ast.Shape.VARIABLE, size)
        return self.decl(name, spec, ast.Shape.SCALAR, None)

    @staticmethod
    def decl(
        name: Token, spec: ast.TypeSpec, shape: ast.Shape, size: int | None
    ) -> tuple[ast.Declaration, Token]:
        return ast.Declaration(name.text, spec, shape, size, name.line), name

    def finish_anonymous(self, pending: object, name: Token) -> ast.TypeSpec:
        """Name an anonymous inline struct/union/enum after its field and register it."""
        if not isinstance(pending, tuple):
            return pending  # type: ignore[return-value]
        kind, start = pending
        outer = next((s for s in reversed(self.scope) if s), "")
        full = f"{outer}_{name.text}" if outer else name.text
        fake = Token("ident", full, name.line, name.col)
        self.pos, resume = start, self.pos
        self.scope.append(full)
        if kind == "struct":
            definition: ast.TypeDefinition = self.struct_body(fake)
        elif kind == "union":
            definition = self.union_body(fake)
        else:
            definition = self.enum_body(fake)
        self.scope.pop()
        self.pos = resume
        self.add_type(definition, fake)
        return ast.NamedType(full, name.line, name.col)

    def skip_braces(self) -> None:
        """Skip a balanced ``{...}`` (anonymous bodies are parsed once the name is known)."""
        depth = 0
        while True:
            tok = self.next()
            if tok.kind == "eof":
                raise self.unexpected(tok, "'}'")
            if tok.text == "{" and tok.kind == "punct":
                depth += 1
            elif tok.text == "}" and tok.kind == "punct":
                depth -= 1
                if depth == 0:
                    return

    def type_specifier(self, anonymous: bool) -> ast.TypeSpec | tuple[str, int]:
        tok = self.next()
        if tok.kind == "keyword":
            word = tok.text
            if word == "unsigned":
                nxt = self.peek()
                if nxt.kind == "keyword" and nxt.text in _BASE_KEYWORDS:
                    self.next()
                    base = "int" if nxt.text == "long" else nxt.text
                    return ast.BaseType(f"unsigned {base}")
                return ast.BaseType("unsigned int")
            if word in _BASE_KEYWORDS:
                return ast.BaseType("int" if word == "long" else word)
            if word in ("bool", "float", "double"):
                return ast.BaseType(word)
            if word == "quadruple":
                raise self.error(
                    "'quadruple' (128-bit float) is not supported: Python has no such type", tok
                )
            if word in ("struct", "union", "enum"):
                nxt = self.peek()
                if nxt.kind == "ident":
                    self.next()
                    return self.reference(nxt)
                opener = "switch" if word == "union" else "{"
                if nxt.text == opener and anonymous:
                    start = self.pos
                    if word == "union":
                        while self.peek().text != "{" and self.peek().kind != "eof":
                            self.next()
                    self.skip_braces()
                    return (word, start)
                raise self.unexpected(nxt, f"a {word} name")
        if tok.kind == "ident":
            return self.reference(tok)
        raise self.unexpected(tok, "a type")

    def reference(self, tok: Token) -> ast.NamedType:
        ref = ast.NamedType(tok.text, tok.line, tok.col)
        self.references.append(ref)
        return ref

    def check_references(self) -> None:
        for ref in self.references:
            if ref.name not in self.types:
                raise XdrParseError(
                    f"undefined type {ref.name!r}", self.filename, ref.line, ref.col, "a type"
                )
        for definition in self.types.values():
            if isinstance(definition, ast.Union):
                self.check_discriminant(definition)
            if isinstance(definition, ast.Typedef):
                self.check_typedef_cycle(definition)

    def resolve_scalar(self, spec: ast.TypeSpec) -> ast.BaseType | ast.TypeDefinition:
        seen: set[str] = set()
        while isinstance(spec, ast.NamedType):
            definition = self.types[spec.name]
            if not isinstance(definition, ast.Typedef) or definition.decl.shape is not (
                ast.Shape.SCALAR
            ):
                return definition
            if spec.name in seen:
                break
            seen.add(spec.name)
            spec = definition.decl.type  # type: ignore[assignment]
        return spec

    def check_discriminant(self, union: ast.Union) -> None:
        target = self.resolve_scalar(union.discriminant.type)  # type: ignore[arg-type]
        ok = isinstance(target, ast.Enum) or (
            isinstance(target, ast.BaseType) and target.name in _DISCRIMINANT_BASES
        )
        if not ok:
            raise XdrParseError(
                f"union {union.name!r}: discriminant must be int, unsigned int, bool or an enum",
                self.filename,
                union.discriminant.line,
                0,
            )

    def check_typedef_cycle(self, typedef: ast.Typedef) -> None:
        seen = {typedef.name}
        decl = typedef.decl
        while isinstance(decl.type, ast.NamedType):
            target = self.types[decl.type.name]
            if not isinstance(target, ast.Typedef):
                return
            if target.name in seen:
                raise XdrParseError(
                    f"typedef {typedef.name!r} refers to itself", self.filename, typedef.line, 0
                )
            seen.add(target.name)
            decl = target.decl


def parse(
    text: str, filename: str = "<string>", constants: Mapping[str, int] | None = None
) -> ast.Specification:
    """Parse ``.x`` source text; ``constants`` supplies values the file uses but does not define.

    Raises :class:`~virtwire.xdr.runtime.XdrParseError` with file, line, column and what was
    expected.
    """
    spec = _Parser(text, filename, constants or {}).specification()
    log.debug("parsed %s: %d definitions", filename, len(spec.definitions))
    return spec


def parse_file(path: str | Path, constants: Mapping[str, int] | None = None) -> ast.Specification:
    """Parse a ``.x`` file; error messages and ``Specification.source`` use its base name."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise XdrParseError(f"file is not UTF-8 text ({e})", path.name, 1, 1) from None
    except OSError as e:
        raise XdrParseError(f"cannot read file ({e.strerror})", path.name, 0, 0) from None
    return parse(text, path.name, constants)
