//! The compiler: a single-pass Pratt parser that emits byte code directly,
//! as clox's compiler.c, with the same grammar, limits, error messages and
//! panic-mode recovery.
//!
//! GC: compiling never calls a safepoint, so the strings and functions it
//! allocates (held in Rust vectors and locals as unrooted `Gc`s) cannot be
//! collected while it runs. The result is handed to the VM, which roots it
//! before its first safepoint. This is why clox's "compiler roots" (marking
//! the functions under construction) have no counterpart here.

use tricolor::{Gc, Mutator};

use crate::chunk::{op, ChunkBuilder};
use crate::globals::GlobalNames;
use crate::object::{self, Obj};
use crate::scanner::{Scanner, Token, TokenKind};
use crate::strings::Interner;
use crate::value::Value;

/// One-byte operands: the most locals, upvalues and constants a function
/// can have.
const UINT8_COUNT: usize = 256;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Precedence {
    None,
    Assignment, // =
    Or,         // or
    And,        // and
    Equality,   // == !=
    Comparison, // < > <= >=
    Term,       // + -
    Factor,     // * /
    Unary,      // ! -
    Call,       // . ()
    Primary,
}

impl Precedence {
    fn next(self) -> Precedence {
        use Precedence::*;
        match self {
            None => Assignment,
            Assignment => Or,
            Or => And,
            And => Equality,
            Equality => Comparison,
            Comparison => Term,
            Term => Factor,
            Factor => Unary,
            Unary => Call,
            Call | Primary => Primary,
        }
    }
}

/// The precedence of `kind` as an infix operator (clox's rules table).
fn infix_precedence(kind: TokenKind) -> Precedence {
    use TokenKind as T;
    match kind {
        T::LeftParen | T::Dot => Precedence::Call,
        T::Minus | T::Plus => Precedence::Term,
        T::Slash | T::Star => Precedence::Factor,
        T::BangEqual | T::EqualEqual => Precedence::Equality,
        T::Greater | T::GreaterEqual | T::Less | T::LessEqual => Precedence::Comparison,
        T::And => Precedence::And,
        T::Or => Precedence::Or,
        _ => Precedence::None,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FunctionKind {
    Function,
    Initializer,
    Method,
    Script,
}

struct Local<'src> {
    name: &'src str,
    /// `None` while the variable's initializer is being compiled.
    depth: Option<usize>,
    is_captured: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct UpvalueRef {
    index: u8,
    is_local: bool,
}

/// The state of one function being compiled (clox's `Compiler`).
struct FnState<'src, 'm> {
    kind: FunctionKind,
    name: Option<Gc<'m, Obj>>,
    arity: usize,
    chunk: ChunkBuilder<'m>,
    locals: Vec<Local<'src>>,
    upvalues: Vec<UpvalueRef>,
    scope_depth: usize,
}

struct ClassState {
    has_superclass: bool,
}

struct Parser<'src, 'm, 'i> {
    m: &'m Mutator,
    strings: &'i mut Interner,
    globals: &'i mut GlobalNames,
    scanner: Scanner<'src>,
    current: Token<'src>,
    previous: Token<'src>,
    had_error: bool,
    panic_mode: bool,
    /// Innermost function last.
    fns: Vec<FnState<'src, 'm>>,
    /// Innermost class last.
    classes: Vec<ClassState>,
    /// (function depth, code length) just after a `this` that compiled to
    /// `GET_LOCAL 0` and is directly followed by `.`, so the `.name` can
    /// fuse with it. Only set when the next token is the dot: then no jump
    /// can target the end of that `GET_LOCAL` (a grouping such as
    /// `(a and this).x` ends with `)`, not `this`), so dropping it is safe.
    this_end: (usize, usize),
}

/// Compile `source` to the top-level script function, or report the errors
/// to stderr and return `None`.
pub fn compile<'m>(
    m: &'m Mutator,
    strings: &mut Interner,
    globals: &mut GlobalNames,
    source: &str,
) -> Option<Gc<'m, Obj>> {
    let start = Token {
        kind: TokenKind::Eof,
        lexeme: "",
        line: 1,
    };
    let mut p = Parser {
        m,
        strings,
        globals,
        scanner: Scanner::new(source),
        current: start,
        previous: start,
        had_error: false,
        panic_mode: false,
        fns: Vec::new(),
        classes: Vec::new(),
        this_end: (usize::MAX, 0),
    };
    p.begin_function(FunctionKind::Script, None);
    p.advance();
    while !p.match_token(TokenKind::Eof) {
        p.declaration();
    }
    let (function, _) = p.end_function();
    (!p.had_error).then_some(function)
}

impl<'src, 'm> Parser<'src, 'm, '_> {
    // ---- tokens and errors -------------------------------------------

    fn advance(&mut self) {
        self.previous = self.current;
        loop {
            self.current = self.scanner.scan_token();
            if self.current.kind != TokenKind::Error {
                break;
            }
            self.error_at(self.current, self.current.lexeme);
        }
    }

    fn check(&self, kind: TokenKind) -> bool {
        self.current.kind == kind
    }

    fn match_token(&mut self, kind: TokenKind) -> bool {
        if !self.check(kind) {
            return false;
        }
        self.advance();
        true
    }

    fn consume(&mut self, kind: TokenKind, message: &str) {
        if self.check(kind) {
            self.advance();
        } else {
            self.error_at_current(message);
        }
    }

    fn error(&mut self, message: &str) {
        self.error_at(self.previous, message);
    }

    fn error_at_current(&mut self, message: &str) {
        self.error_at(self.current, message);
    }

    /// Report an error unless already in panic mode (then the parser is
    /// skipping tokens to the next statement and errors are cascades).
    fn error_at(&mut self, token: Token<'_>, message: &str) {
        if self.panic_mode {
            return;
        }
        self.panic_mode = true;
        self.had_error = true;
        let place = match token.kind {
            TokenKind::Eof => " at end".to_string(),
            TokenKind::Error => String::new(),
            _ => format!(" at '{}'", token.lexeme),
        };
        eprintln!("[line {}] Error{place}: {message}", token.line);
    }

    /// Skip to a statement boundary after an error.
    fn synchronize(&mut self) {
        self.panic_mode = false;
        use TokenKind as T;
        while self.current.kind != T::Eof {
            if self.previous.kind == T::Semicolon {
                return;
            }
            match self.current.kind {
                T::Class | T::Fun | T::Var | T::For | T::If | T::While | T::Print | T::Return => {
                    return
                }
                _ => self.advance(),
            }
        }
    }

    // ---- emitting ----------------------------------------------------

    fn fn_state(&mut self) -> &mut FnState<'src, 'm> {
        self.fns.last_mut().expect("a function is being compiled")
    }

    fn chunk(&mut self) -> &mut ChunkBuilder<'m> {
        &mut self.fn_state().chunk
    }

    fn emit(&mut self, byte: u8) {
        let line = self.previous.line;
        self.chunk().write(byte, line);
    }

    fn emit2(&mut self, a: u8, b: u8) {
        self.emit(a);
        self.emit(b);
    }

    fn emit_loop(&mut self, loop_start: usize) {
        self.emit(op::LOOP);
        let offset = self.chunk().code.len() - loop_start + 2;
        if offset > u16::MAX as usize {
            self.error("Loop body too large.");
        }
        self.emit2((offset >> 8) as u8, offset as u8);
    }

    /// Emit a jump with a placeholder offset; returns where to patch it.
    fn emit_jump(&mut self, instruction: u8) -> usize {
        self.emit(instruction);
        self.emit2(0xff, 0xff);
        self.chunk().code.len() - 2
    }

    fn patch_jump(&mut self, at: usize) {
        // -2 for the offset bytes themselves.
        let jump = self.chunk().code.len() - at - 2;
        if jump > u16::MAX as usize {
            self.error("Too much code to jump over.");
        }
        let code = &mut self.chunk().code;
        code[at] = (jump >> 8) as u8;
        code[at + 1] = jump as u8;
    }

    fn emit_return(&mut self) {
        if self.fn_state().kind == FunctionKind::Initializer {
            self.emit2(op::GET_LOCAL, 0);
            self.emit(op::RETURN);
        } else {
            self.emit(op::RETURN_NIL);
        }
    }

    fn make_constant(&mut self, value: Value<'m>) -> u8 {
        if self.chunk().constants.len() >= UINT8_COUNT {
            self.error("Too many constants in one chunk.");
            return 0;
        }
        self.chunk().add_constant(value) as u8
    }

    fn emit_constant(&mut self, value: Value<'m>) {
        let c = self.make_constant(value);
        self.emit2(op::CONSTANT, c);
    }

    fn intern(&mut self, s: &str) -> Gc<'m, Obj> {
        self.strings.intern(self.m, s)
    }

    fn identifier_constant(&mut self, name: &str) -> u8 {
        let s = self.intern(name);
        self.make_constant(Value::Obj(s))
    }

    // ---- functions and scopes ----------------------------------------

    fn begin_function(&mut self, kind: FunctionKind, name: Option<Gc<'m, Obj>>) {
        // Slot 0 holds the callee; in methods it is `this`.
        let slot0 = if kind == FunctionKind::Function || kind == FunctionKind::Script {
            ""
        } else {
            "this"
        };
        self.fns.push(FnState {
            kind,
            name,
            arity: 0,
            chunk: ChunkBuilder::default(),
            locals: vec![Local {
                name: slot0,
                depth: Some(0),
                is_captured: false,
            }],
            upvalues: Vec::new(),
            scope_depth: 0,
        });
    }

    fn end_function(&mut self) -> (Gc<'m, Obj>, Vec<UpvalueRef>) {
        self.emit_return();
        let f = self.fns.pop().expect("a function is being compiled");
        let function = object::new_function(self.m, f.name, f.arity, f.upvalues.len(), f.chunk);
        (function, f.upvalues)
    }

    fn begin_scope(&mut self) {
        self.fn_state().scope_depth += 1;
    }

    fn end_scope(&mut self) {
        let f = self.fn_state();
        f.scope_depth -= 1;
        let depth = f.scope_depth;
        while let Some(local) = self.fn_state().locals.last() {
            // An uninitialized local (depth `None`) counts as outer, as
            // clox's -1 does.
            if local.depth.is_none_or(|d| d <= depth) {
                break;
            }
            let captured = local.is_captured;
            self.emit(if captured { op::CLOSE_UPVALUE } else { op::POP });
            self.fn_state().locals.pop();
        }
    }

    fn add_local(&mut self, name: &'src str) {
        if self.fn_state().locals.len() == UINT8_COUNT {
            self.error("Too many local variables in function.");
            return;
        }
        self.fn_state().locals.push(Local {
            name,
            depth: None,
            is_captured: false,
        });
    }

    fn declare_variable(&mut self) {
        let f = self.fns.last().expect("a function is being compiled");
        if f.scope_depth == 0 {
            return;
        }
        let name = self.previous.lexeme;
        let duplicate = f
            .locals
            .iter()
            .rev()
            .take_while(|l| l.depth.is_none_or(|d| d >= f.scope_depth))
            .any(|l| l.name == name);
        if duplicate {
            self.error("Already a variable with this name in this scope.");
        }
        self.add_local(name);
    }

    /// Parse a variable name; returns its name constant for a global (0 for
    /// a local, which needs none).
    fn parse_variable(&mut self, message: &str) -> u8 {
        self.consume(TokenKind::Identifier, message);
        self.declare_variable();
        if self.fn_state().scope_depth > 0 {
            return 0;
        }
        self.identifier_constant(self.previous.lexeme)
    }

    fn mark_initialized(&mut self) {
        let f = self.fn_state();
        if f.scope_depth == 0 {
            return;
        }
        let depth = f.scope_depth;
        if let Some(local) = f.locals.last_mut() {
            local.depth = Some(depth);
        }
    }

    fn define_variable(&mut self, global: u8) {
        if self.fn_state().scope_depth > 0 {
            self.mark_initialized();
            return;
        }
        self.emit_global(op::DEFINE_GLOBAL, global);
    }

    /// A global variable instruction: the name constant `constant`, then
    /// the variable's two-byte slot number.
    fn emit_global(&mut self, instruction: u8, constant: u8) {
        let name = match self.chunk().constants.get(constant as usize) {
            Some(Value::Obj(name)) => name.string().text().to_string(),
            // Only after "Too many constants" was reported.
            _ => String::new(),
        };
        let slot = self.globals.slot(&name).unwrap_or_else(|| {
            self.error("Too many global variables.");
            0
        });
        self.emit2(instruction, constant);
        self.emit2((slot >> 8) as u8, slot as u8);
    }

    fn resolve_local(&mut self, fn_index: usize, name: &str) -> Option<u8> {
        let f = &self.fns[fn_index];
        let (slot, uninitialized) = f
            .locals
            .iter()
            .enumerate()
            .rev()
            .find(|(_, l)| l.name == name)
            .map(|(i, l)| (i, l.depth.is_none()))?;
        if uninitialized {
            self.error("Can't read local variable in its own initializer.");
        }
        Some(slot as u8)
    }

    fn add_upvalue(&mut self, fn_index: usize, index: u8, is_local: bool) -> u8 {
        let wanted = UpvalueRef { index, is_local };
        if let Some(i) = self.fns[fn_index]
            .upvalues
            .iter()
            .position(|&u| u == wanted)
        {
            return i as u8;
        }
        if self.fns[fn_index].upvalues.len() == UINT8_COUNT {
            self.error("Too many closure variables in function.");
            return 0;
        }
        self.fns[fn_index].upvalues.push(wanted);
        (self.fns[fn_index].upvalues.len() - 1) as u8
    }

    fn resolve_upvalue(&mut self, fn_index: usize, name: &str) -> Option<u8> {
        if fn_index == 0 {
            return None;
        }
        let enclosing = fn_index - 1;
        if let Some(local) = self.resolve_local(enclosing, name) {
            self.fns[enclosing].locals[local as usize].is_captured = true;
            return Some(self.add_upvalue(fn_index, local, true));
        }
        let upvalue = self.resolve_upvalue(enclosing, name)?;
        Some(self.add_upvalue(fn_index, upvalue, false))
    }

    // ---- declarations and statements ---------------------------------

    fn declaration(&mut self) {
        if self.match_token(TokenKind::Class) {
            self.class_declaration();
        } else if self.match_token(TokenKind::Fun) {
            self.fun_declaration();
        } else if self.match_token(TokenKind::Var) {
            self.var_declaration();
        } else {
            self.statement();
        }
        if self.panic_mode {
            self.synchronize();
        }
    }

    fn class_declaration(&mut self) {
        self.consume(TokenKind::Identifier, "Expect class name.");
        let class_name = self.previous;
        let name_constant = self.identifier_constant(class_name.lexeme);
        self.declare_variable();
        self.emit2(op::CLASS, name_constant);
        self.define_variable(name_constant);

        self.classes.push(ClassState {
            has_superclass: false,
        });
        if self.match_token(TokenKind::Less) {
            self.consume(TokenKind::Identifier, "Expect superclass name.");
            self.variable(false);
            if class_name.lexeme == self.previous.lexeme {
                self.error("A class can't inherit from itself.");
            }
            // `super` is a local in a scope around the methods, so each
            // method closure captures the superclass.
            self.begin_scope();
            self.add_local("super");
            self.define_variable(0);
            self.named_variable(class_name, false);
            self.emit(op::INHERIT);
            self.classes
                .last_mut()
                .expect("pushed above")
                .has_superclass = true;
        }
        self.named_variable(class_name, false);
        self.consume(TokenKind::LeftBrace, "Expect '{' before class body.");
        while !self.check(TokenKind::RightBrace) && !self.check(TokenKind::Eof) {
            self.method();
        }
        self.consume(TokenKind::RightBrace, "Expect '}' after class body.");
        self.emit(op::POP);
        if self.classes.pop().expect("pushed above").has_superclass {
            self.end_scope();
        }
    }

    fn method(&mut self) {
        self.consume(TokenKind::Identifier, "Expect method name.");
        let constant = self.identifier_constant(self.previous.lexeme);
        let kind = if self.previous.lexeme == "init" {
            FunctionKind::Initializer
        } else {
            FunctionKind::Method
        };
        self.function(kind);
        self.emit2(op::METHOD, constant);
    }

    fn fun_declaration(&mut self) {
        let global = self.parse_variable("Expect function name.");
        // Initialized before the body, so the function can call itself.
        self.mark_initialized();
        self.function(FunctionKind::Function);
        self.define_variable(global);
    }

    fn function(&mut self, kind: FunctionKind) {
        let name = self.intern(self.previous.lexeme);
        self.begin_function(kind, Some(name));
        self.begin_scope();
        self.consume(TokenKind::LeftParen, "Expect '(' after function name.");
        if !self.check(TokenKind::RightParen) {
            loop {
                self.fn_state().arity += 1;
                if self.fn_state().arity > 255 {
                    self.error_at_current("Can't have more than 255 parameters.");
                }
                let constant = self.parse_variable("Expect parameter name.");
                self.define_variable(constant);
                if !self.match_token(TokenKind::Comma) {
                    break;
                }
            }
        }
        self.consume(TokenKind::RightParen, "Expect ')' after parameters.");
        self.consume(TokenKind::LeftBrace, "Expect '{' before function body.");
        self.block();
        // No end_scope: the frame is discarded by OP_RETURN as a whole.
        let (function, upvalues) = self.end_function();
        let constant = self.make_constant(Value::Obj(function));
        self.emit2(op::CLOSURE, constant);
        for u in upvalues {
            self.emit2(u.is_local as u8, u.index);
        }
    }

    fn var_declaration(&mut self) {
        let global = self.parse_variable("Expect variable name.");
        if self.match_token(TokenKind::Equal) {
            self.expression();
        } else {
            self.emit(op::NIL);
        }
        self.consume(
            TokenKind::Semicolon,
            "Expect ';' after variable declaration.",
        );
        self.define_variable(global);
    }

    fn statement(&mut self) {
        use TokenKind as T;
        if self.match_token(T::Print) {
            self.print_statement();
        } else if self.match_token(T::For) {
            self.for_statement();
        } else if self.match_token(T::If) {
            self.if_statement();
        } else if self.match_token(T::Return) {
            self.return_statement();
        } else if self.match_token(T::While) {
            self.while_statement();
        } else if self.match_token(T::LeftBrace) {
            self.begin_scope();
            self.block();
            self.end_scope();
        } else {
            self.expression_statement();
        }
    }

    fn block(&mut self) {
        while !self.check(TokenKind::RightBrace) && !self.check(TokenKind::Eof) {
            self.declaration();
        }
        self.consume(TokenKind::RightBrace, "Expect '}' after block.");
    }

    fn print_statement(&mut self) {
        self.expression();
        self.consume(TokenKind::Semicolon, "Expect ';' after value.");
        self.emit(op::PRINT);
    }

    fn expression_statement(&mut self) {
        self.expression();
        self.consume(TokenKind::Semicolon, "Expect ';' after expression.");
        self.emit(op::POP);
    }

    fn if_statement(&mut self) {
        self.consume(TokenKind::LeftParen, "Expect '(' after 'if'.");
        self.expression();
        self.consume(TokenKind::RightParen, "Expect ')' after condition.");
        let then_jump = self.emit_jump(op::POP_JUMP_IF_FALSE);
        self.statement();
        let else_jump = self.emit_jump(op::JUMP);
        self.patch_jump(then_jump);
        if self.match_token(TokenKind::Else) {
            self.statement();
        }
        self.patch_jump(else_jump);
    }

    fn while_statement(&mut self) {
        let loop_start = self.chunk().code.len();
        self.consume(TokenKind::LeftParen, "Expect '(' after 'while'.");
        self.expression();
        self.consume(TokenKind::RightParen, "Expect ')' after condition.");
        let exit_jump = self.emit_jump(op::POP_JUMP_IF_FALSE);
        self.statement();
        self.emit_loop(loop_start);
        self.patch_jump(exit_jump);
    }

    fn for_statement(&mut self) {
        self.begin_scope();
        self.consume(TokenKind::LeftParen, "Expect '(' after 'for'.");
        if self.match_token(TokenKind::Semicolon) {
            // No initializer.
        } else if self.match_token(TokenKind::Var) {
            self.var_declaration();
        } else {
            self.expression_statement();
        }

        let mut loop_start = self.chunk().code.len();
        let mut exit_jump = None;
        if !self.match_token(TokenKind::Semicolon) {
            self.expression();
            self.consume(TokenKind::Semicolon, "Expect ';' after loop condition.");
            exit_jump = Some(self.emit_jump(op::POP_JUMP_IF_FALSE));
        }

        if !self.match_token(TokenKind::RightParen) {
            // The increment runs after the body: jump over it now, loop back
            // to it from the body's end.
            let body_jump = self.emit_jump(op::JUMP);
            let increment_start = self.chunk().code.len();
            self.expression();
            self.emit(op::POP);
            self.consume(TokenKind::RightParen, "Expect ')' after for clauses.");
            self.emit_loop(loop_start);
            loop_start = increment_start;
            self.patch_jump(body_jump);
        }

        self.statement();
        self.emit_loop(loop_start);
        if let Some(exit) = exit_jump {
            self.patch_jump(exit);
        }
        self.end_scope();
    }

    fn return_statement(&mut self) {
        let kind = self.fn_state().kind;
        if kind == FunctionKind::Script {
            self.error("Can't return from top-level code.");
        }
        if self.match_token(TokenKind::Semicolon) {
            self.emit_return();
        } else {
            if kind == FunctionKind::Initializer {
                self.error("Can't return a value from an initializer.");
            }
            self.expression();
            self.consume(TokenKind::Semicolon, "Expect ';' after return value.");
            self.emit(op::RETURN);
        }
    }

    // ---- expressions -------------------------------------------------

    fn expression(&mut self) {
        self.parse_precedence(Precedence::Assignment);
    }

    fn parse_precedence(&mut self, precedence: Precedence) {
        self.advance();
        let can_assign = precedence <= Precedence::Assignment;
        if !self.prefix_rule(self.previous.kind, can_assign) {
            self.error("Expect expression.");
            return;
        }
        while precedence <= infix_precedence(self.current.kind) {
            self.advance();
            self.infix_rule(self.previous.kind, can_assign);
        }
        if can_assign && self.match_token(TokenKind::Equal) {
            self.error("Invalid assignment target.");
        }
    }

    /// Run the prefix parse rule of `kind`; false if it has none.
    fn prefix_rule(&mut self, kind: TokenKind, can_assign: bool) -> bool {
        use TokenKind as T;
        match kind {
            T::LeftParen => self.grouping(),
            T::Minus | T::Bang => self.unary(),
            T::Number => self.number(),
            T::String => self.string(),
            T::Nil => self.emit(op::NIL),
            T::True => self.emit(op::TRUE),
            T::False => self.emit(op::FALSE),
            T::Identifier => self.variable(can_assign),
            T::This => self.this(),
            T::Super => self.super_(),
            _ => return false,
        }
        true
    }

    fn infix_rule(&mut self, kind: TokenKind, can_assign: bool) {
        use TokenKind as T;
        match kind {
            T::LeftParen => self.call(),
            T::Dot => self.dot(can_assign),
            T::And => self.and(),
            T::Or => self.or(),
            _ => self.binary(),
        }
    }

    fn grouping(&mut self) {
        self.expression();
        self.consume(TokenKind::RightParen, "Expect ')' after expression.");
    }

    fn number(&mut self) {
        // The scanner only accepts digits with an optional fraction, which
        // always parses.
        let n: f64 = self.previous.lexeme.parse().unwrap_or(0.0);
        self.emit_constant(Value::Number(n));
    }

    fn string(&mut self) {
        let lexeme = self.previous.lexeme;
        let s = self.intern(&lexeme[1..lexeme.len() - 1]);
        self.emit_constant(Value::Obj(s));
    }

    fn unary(&mut self) {
        let operator = self.previous.kind;
        self.parse_precedence(Precedence::Unary);
        match operator {
            TokenKind::Bang => self.emit(op::NOT),
            _ => self.emit(op::NEGATE),
        }
    }

    fn binary(&mut self) {
        let operator = self.previous.kind;
        let right_start = self.chunk().code.len();
        self.parse_precedence(infix_precedence(operator).next());
        use TokenKind as T;
        let fused = match operator {
            T::Plus => Some(op::ADD_CONSTANT),
            T::Minus => Some(op::SUBTRACT_CONSTANT),
            T::Less => Some(op::LESS_CONSTANT),
            T::Greater => Some(op::GREATER_CONSTANT),
            _ => None,
        };
        if let Some(fused) = fused {
            if let Some(k) = self.take_number_constant(right_start) {
                self.emit2(fused, k);
                return;
            }
        }
        if matches!(operator, T::EqualEqual | T::BangEqual) {
            if let Some(k) = self.take_literal_constant(right_start) {
                self.emit2(op::EQUAL_CONSTANT, k);
                if operator == T::BangEqual {
                    self.emit(op::NOT);
                }
                return;
            }
        }
        match operator {
            T::BangEqual => self.emit2(op::EQUAL, op::NOT),
            T::EqualEqual => self.emit(op::EQUAL),
            T::Greater => self.emit(op::GREATER),
            T::GreaterEqual => self.emit(op::NOT_LESS),
            T::Less => self.emit(op::LESS),
            T::LessEqual => self.emit(op::NOT_GREATER),
            T::Plus => self.emit(op::ADD),
            T::Minus => self.emit(op::SUBTRACT),
            T::Star => self.emit(op::MULTIPLY),
            T::Slash => self.emit(op::DIVIDE),
            _ => unreachable!("not a binary operator: {operator:?}"),
        }
    }

    /// If the code from `start` is exactly `CONSTANT k` for a number `k`
    /// (the whole right operand is a number literal), drop it and return
    /// `k` for a fused instruction. Two bytes from one literal contain no
    /// jump target, so dropping them is safe.
    fn take_number_constant(&mut self, start: usize) -> Option<u8> {
        let chunk = self.chunk();
        if chunk.code.len() != start + 2 || chunk.code[start] != op::CONSTANT {
            return None;
        }
        let k = chunk.code[start + 1];
        if !matches!(chunk.constants[k as usize], Value::Number(_)) {
            return None;
        }
        chunk.truncate(start);
        Some(k)
    }

    /// If the code from `start` is exactly one literal (`CONSTANT k`, or
    /// `NIL`, `TRUE` or `FALSE`, which get a constant here if the chunk has
    /// room), drop it and return its constant for `EQUAL_CONSTANT`. As in
    /// `take_number_constant`, a single literal contains no jump target.
    fn take_literal_constant(&mut self, start: usize) -> Option<u8> {
        let chunk = self.chunk();
        if chunk.code.len() == start + 2 && chunk.code[start] == op::CONSTANT {
            let k = chunk.code[start + 1];
            chunk.truncate(start);
            return Some(k);
        }
        if chunk.code.len() != start + 1 || chunk.constants.len() >= UINT8_COUNT {
            return None;
        }
        let value = match chunk.code[start] {
            op::NIL => Value::Nil,
            op::TRUE => Value::Bool(true),
            op::FALSE => Value::Bool(false),
            _ => return None,
        };
        chunk.truncate(start);
        Some(chunk.add_constant(value) as u8)
    }

    fn and(&mut self) {
        let end_jump = self.emit_jump(op::JUMP_IF_FALSE);
        self.emit(op::POP);
        self.parse_precedence(Precedence::And);
        self.patch_jump(end_jump);
    }

    fn or(&mut self) {
        let else_jump = self.emit_jump(op::JUMP_IF_FALSE);
        let end_jump = self.emit_jump(op::JUMP);
        self.patch_jump(else_jump);
        self.emit(op::POP);
        self.parse_precedence(Precedence::Or);
        self.patch_jump(end_jump);
    }

    fn argument_list(&mut self) -> u8 {
        let mut count: usize = 0;
        if !self.check(TokenKind::RightParen) {
            loop {
                self.expression();
                if count == 255 {
                    self.error("Can't have more than 255 arguments.");
                }
                count += 1;
                if !self.match_token(TokenKind::Comma) {
                    break;
                }
            }
        }
        self.consume(TokenKind::RightParen, "Expect ')' after arguments.");
        count as u8
    }

    fn call(&mut self) {
        let argc = self.argument_list();
        self.emit2(op::CALL, argc);
    }

    /// Whether the receiver just compiled is `this` as `GET_LOCAL 0`; if
    /// so, drop that instruction (the caller emits a fused one).
    fn take_this_receiver(&mut self) -> bool {
        let at = (self.fns.len(), self.chunk().code.len());
        if std::mem::replace(&mut self.this_end, (usize::MAX, 0)) != at {
            return false;
        }
        let chunk = self.chunk();
        let len = chunk.code.len();
        if len < 2 || chunk.code[len - 2] != op::GET_LOCAL || chunk.code[len - 1] != 0 {
            return false;
        }
        chunk.truncate(len - 2);
        true
    }

    fn dot(&mut self, can_assign: bool) {
        let this_receiver = self.take_this_receiver();
        self.consume(TokenKind::Identifier, "Expect property name after '.'.");
        let name = self.identifier_constant(self.previous.lexeme);
        if this_receiver && !(can_assign && self.check(TokenKind::Equal)) {
            if self.check(TokenKind::LeftParen) {
                self.emit2(op::GET_LOCAL, 0);
            } else {
                self.emit2(op::GET_THIS_PROPERTY, name);
                return;
            }
        }
        if can_assign && self.match_token(TokenKind::Equal) {
            self.expression();
            if this_receiver {
                self.emit2(op::SET_THIS_PROPERTY, name);
            } else {
                self.emit2(op::SET_PROPERTY, name);
            }
        } else if self.match_token(TokenKind::LeftParen) {
            // `a.b(...)` in one instruction, without a bound method object.
            let argc = self.argument_list();
            self.emit2(op::INVOKE, name);
            self.emit(argc);
        } else {
            self.emit2(op::GET_PROPERTY, name);
        }
    }

    fn variable(&mut self, can_assign: bool) {
        self.named_variable(self.previous, can_assign);
    }

    fn named_variable(&mut self, name: Token<'src>, can_assign: bool) {
        let current = self.fns.len() - 1;
        let (get_op, set_op, arg) = if let Some(slot) = self.resolve_local(current, name.lexeme) {
            (op::GET_LOCAL, op::SET_LOCAL, slot)
        } else if let Some(index) = self.resolve_upvalue(current, name.lexeme) {
            (op::GET_UPVALUE, op::SET_UPVALUE, index)
        } else {
            let constant = self.identifier_constant(name.lexeme);
            (op::GET_GLOBAL, op::SET_GLOBAL, constant)
        };
        let instruction = if can_assign && self.match_token(TokenKind::Equal) {
            self.expression();
            set_op
        } else {
            get_op
        };
        if instruction == op::GET_GLOBAL || instruction == op::SET_GLOBAL {
            self.emit_global(instruction, arg);
        } else {
            self.emit2(instruction, arg);
        }
    }

    fn this(&mut self) {
        if self.classes.is_empty() {
            self.error("Can't use 'this' outside of a class.");
            return;
        }
        self.variable(false);
        if self.check(TokenKind::Dot) {
            self.this_end = (self.fns.len(), self.chunk().code.len());
        }
    }

    fn super_(&mut self) {
        match self.classes.last() {
            None => self.error("Can't use 'super' outside of a class."),
            Some(c) if !c.has_superclass => {
                self.error("Can't use 'super' in a class with no superclass.")
            }
            Some(_) => {}
        }
        self.consume(TokenKind::Dot, "Expect '.' after 'super'.");
        self.consume(TokenKind::Identifier, "Expect superclass method name.");
        let name = self.identifier_constant(self.previous.lexeme);
        self.named_variable(Token::synthetic("this"), false);
        if self.match_token(TokenKind::LeftParen) {
            let argc = self.argument_list();
            self.named_variable(Token::synthetic("super"), false);
            self.emit2(op::SUPER_INVOKE, name);
            self.emit(argc);
        } else {
            self.named_variable(Token::synthetic("super"), false);
            self.emit2(op::GET_SUPER, name);
        }
    }
}
