//! The scanner: source text to tokens, one at a time on demand, as clox's
//! scanner.c. Tokens borrow their lexemes from the source; an error token
//! carries its message as the lexeme instead.
//!
//! The scanner works on bytes. Every lexeme it slices starts and ends at an
//! ASCII byte (letters, digits, quotes, punctuation), so slices always fall
//! on UTF-8 boundaries; a non-ASCII byte outside a string is an
//! "Unexpected character." error, byte by byte, as in clox.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    LeftParen,
    RightParen,
    LeftBrace,
    RightBrace,
    Comma,
    Dot,
    Minus,
    Plus,
    Semicolon,
    Slash,
    Star,
    Bang,
    BangEqual,
    Equal,
    EqualEqual,
    Greater,
    GreaterEqual,
    Less,
    LessEqual,
    Identifier,
    String,
    Number,
    And,
    Class,
    Else,
    False,
    For,
    Fun,
    If,
    Nil,
    Or,
    Print,
    Return,
    Super,
    This,
    True,
    Var,
    While,
    Error,
    Eof,
}

#[derive(Clone, Copy, Debug)]
pub struct Token<'src> {
    pub kind: TokenKind,
    pub lexeme: &'src str,
    pub line: u32,
}

impl<'src> Token<'src> {
    /// A token the compiler makes up (`this`, `super`) for slot names.
    pub fn synthetic(lexeme: &'static str) -> Token<'src> {
        Token {
            kind: TokenKind::Identifier,
            lexeme,
            line: 0,
        }
    }
}

pub struct Scanner<'src> {
    source: &'src str,
    start: usize,
    current: usize,
    line: u32,
}

impl<'src> Scanner<'src> {
    pub fn new(source: &'src str) -> Scanner<'src> {
        Scanner {
            source,
            start: 0,
            current: 0,
            line: 1,
        }
    }

    pub fn scan_token(&mut self) -> Token<'src> {
        self.skip_whitespace();
        self.start = self.current;
        let Some(c) = self.advance() else {
            return self.make(TokenKind::Eof);
        };
        if is_alpha(c) {
            return self.identifier();
        }
        if c.is_ascii_digit() {
            return self.number();
        }
        use TokenKind::*;
        match c {
            b'(' => self.make(LeftParen),
            b')' => self.make(RightParen),
            b'{' => self.make(LeftBrace),
            b'}' => self.make(RightBrace),
            b';' => self.make(Semicolon),
            b',' => self.make(Comma),
            b'.' => self.make(Dot),
            b'-' => self.make(Minus),
            b'+' => self.make(Plus),
            b'/' => self.make(Slash),
            b'*' => self.make(Star),
            b'!' => self.make_if_equal(BangEqual, Bang),
            b'=' => self.make_if_equal(EqualEqual, Equal),
            b'<' => self.make_if_equal(LessEqual, Less),
            b'>' => self.make_if_equal(GreaterEqual, Greater),
            b'"' => self.string(),
            _ => self.error("Unexpected character."),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.source.as_bytes().get(self.current).copied()
    }

    fn peek_next(&self) -> Option<u8> {
        self.source.as_bytes().get(self.current + 1).copied()
    }

    fn advance(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.current += 1;
        Some(c)
    }

    fn make(&self, kind: TokenKind) -> Token<'src> {
        Token {
            kind,
            lexeme: &self.source[self.start..self.current],
            line: self.line,
        }
    }

    fn make_if_equal(&mut self, with_equal: TokenKind, without: TokenKind) -> Token<'src> {
        if self.peek() == Some(b'=') {
            self.current += 1;
            self.make(with_equal)
        } else {
            self.make(without)
        }
    }

    fn error(&self, message: &'static str) -> Token<'src> {
        Token {
            kind: TokenKind::Error,
            lexeme: message,
            line: self.line,
        }
    }

    fn skip_whitespace(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\r' | b'\t' => self.current += 1,
                b'\n' => {
                    self.line += 1;
                    self.current += 1;
                }
                b'/' if self.peek_next() == Some(b'/') => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.current += 1;
                    }
                }
                _ => return,
            }
        }
    }

    fn string(&mut self) -> Token<'src> {
        loop {
            match self.advance() {
                None => return self.error("Unterminated string."),
                Some(b'"') => return self.make(TokenKind::String),
                Some(b'\n') => self.line += 1,
                Some(_) => {}
            }
        }
    }

    fn number(&mut self) -> Token<'src> {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.current += 1;
        }
        // A fractional part needs a digit after the dot (`1.` is 1 then `.`).
        if self.peek() == Some(b'.') && self.peek_next().is_some_and(|c| c.is_ascii_digit()) {
            self.current += 1;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.current += 1;
            }
        }
        self.make(TokenKind::Number)
    }

    fn identifier(&mut self) -> Token<'src> {
        while self
            .peek()
            .is_some_and(|c| is_alpha(c) || c.is_ascii_digit())
        {
            self.current += 1;
        }
        use TokenKind::*;
        let kind = match &self.source[self.start..self.current] {
            "and" => And,
            "class" => Class,
            "else" => Else,
            "false" => False,
            "for" => For,
            "fun" => Fun,
            "if" => If,
            "nil" => Nil,
            "or" => Or,
            "print" => Print,
            "return" => Return,
            "super" => Super,
            "this" => This,
            "true" => True,
            "var" => Var,
            "while" => While,
            _ => Identifier,
        };
        self.make(kind)
    }
}

fn is_alpha(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}
