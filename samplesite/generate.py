"""Build the bundled sample site, a small replica of the MIM etext archive (1995-2008).

Run `python -m samplesite.generate` to rewrite `site/`, or with `--check` to verify the
committed files still match. The output is committed: the exact bytes matter (legacy charsets,
CRLF line endings, binary media), so the script is the record of how every byte came to be.
"""

from __future__ import annotations

import argparse
import base64
import sys
from collections.abc import Iterable
from pathlib import Path

from samplesite import media

SITE_ROOT = Path(__file__).resolve().parent / "site"

HTML32 = '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n'
HTML401 = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN"\n'
    '  "http://www.w3.org/TR/html4/loose.dtd">\n'
)
LATIN1_META = '<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=iso-8859-1">\n'

QUOTE_1252 = (
    "\u201cThe theory of Marx, Engels, Lenin and Stalin is universally applicable.\u201d"
    " \u2014 Mao Zedong"
)


def page(
    title: str,
    body: str,
    *,
    head: str = "",
    body_attrs: str = 'BGCOLOR="#FFFFFF" TEXT="#000000" LINK="#CC0000" VLINK="#660000"',
    doctype: str = HTML32,
    meta: str = LATIN1_META,
) -> str:
    """An old-style page: uppercase tags, attributes in the BODY tag, optional doctype/meta."""
    return (
        f"{doctype}<HTML>\n<HEAD>\n<TITLE>{title}</TITLE>\n{meta}{head}</HEAD>\n"
        f"<BODY {body_attrs}>\n{body}\n</BODY>\n</HTML>\n"
    )


def footer(home: str) -> str:
    return (
        f'<HR>\n<FONT SIZE="-1"><A HREF="{home}">MIM etext archive</A> |'
        f' <A HREF="/archive/etext/faq/">FAQ</A></FONT>\n'
    )


def article(title: str, paragraphs: Iterable[str], home: str = "../index.html", **kw: str) -> str:
    text = "\n".join(f"<P>{p}</P>" for p in paragraphs)
    body = f'<H1><FONT FACE="Arial">{title}</FONT></H1>\n{text}\n{footer(home)}'
    return page(title, body, **kw)


def ascii_bytes(text: str) -> bytes:
    # Most pages are served as iso-8859-1 but contain only ASCII, as the real site's did;
    # the few pages with other bytes are built on purpose below.
    return text.encode("ascii")


def crlf(text: str) -> bytes:
    # The FAQ was edited on Windows: CRLF line endings must survive capture unchanged.
    return ascii_bytes(text.replace("\n", "\r\n"))


def home_page() -> str:
    # Words as in seed/000_c0c7fbc0b8ace850.txt, marked up the way the 1990s page was.
    nav = """<TABLE BORDER=0 CELLPADDING=3 WIDTH="100%">
<TR><TD BGCOLOR="#990000"><FONT COLOR="#FFFFFF"><B>Sections</B></FONT></TD></TR>
<TR><TD><A HREF="theory/">MIM Theory</A></TD></TR>
<TR><TD><A HREF="/archive/etext/countries/">Country reports</A></TD></TR>
<TR><TD><A HREF=books/index.html>Book reviews</A></TD></TR>
<TR><TD><A HREF="faq/">Frequently asked questions</A></TD></TR>
<TR><TD><A HREF="news/">News and notes</A></TD></TR>
<TR><TD><A HREF="notes.html">Notes on the archive</A></TD></TR>
<TR><TD><A HREF="map.html">Site map (graphical)</A></TD></TR>
<TR><TD><A HREF="frames.html">Framed version</A></TD></TR>
<TR><TD><A HREF="media.html">Multimedia</A></TD></TR>
<TR><TD><A HREF="/archive/etext/links.html">Links</A></TD></TR>
</TABLE>"""
    body = f"""<CENTER><IMG SRC="/images/logo.gif" WIDTH=16 HEIGHT=16 ALT="MIM">
<FONT SIZE="+2" COLOR="#990000"><B>MIM etext archive</B></FONT></CENTER>
<TABLE BORDER=0 CELLSPACING=0 CELLPADDING=6 WIDTH="100%">
<TR><TD VALIGN="top" WIDTH="22%" BGCOLOR="#FFCC99">
{nav}
</TD><TD VALIGN="top">
<P>This is an archive of the former website of the Maoist Internationalist Movement, which was run
by the now defunct Maoist Internationalist Party - Amerika. The MIM now consists of many independent
cells, many of which have their own indendendent organs both online and off. MIM(Prisons) serves
these documents as a service to and reference for the anti-imperialist movement worldwide.</P>
<H2>Three Main Points</H2>
<P>MIM differs from other communist parties on three main questions:</P>
<UL>
<LI>MIM holds that after the proletariat seizes power in socialist
revolution, the potential exists for capitalist restoration under the
leadership of a new bourgeoisie within the communist party itself. In
the case of the USSR, the bourgeoisie seized power after the death of Stalin in 1953;
in China, it was after Mao's
death and the overthrow of the "Gang of Four" in 1976.
<LI>MIM upholds the Chinese <A HREF="theory/gpcr.html">Cultural
Revolution</A> as the farthest advance of communism in humyn
history.
<LI>As Marx, Engels and Lenin formulated and MIM has reiterated through
materialist analysis, imperialism extracts super-profits from the Third
World and in part uses this wealth to buy off whole populations of
oppressor nation so-called workers. These so-called workers bought off by
imperialism form a new petty-bourgeoisie called the labor aristocracy.
These classes are not the principal vehicles to advance Maoism within
those countries because their standards of living depend on imperialism.
At this time, imperialist super-profits create this situation in
Canada, Quebec, the United $tates, England, France, Belgium, Germany,
Japan, Italy, Switzerland, Luxembourg, the Netherlands, Israel, Sweden and
Denmark. (See <A HREF="theory/mt1.html">MIM Theory #1 on the White-Working Class</A>
and <A HREF="/archive/etext/theory/mt10.html">MIM Theory #10 on the Labor Aristocracy</A>
and <A HREF="theory/classes1997.html">Imperialism and its Class Structure in 1997</A>)<IMG
SRC="img/thirdpoint.gif" WIDTH=16 HEIGHT=16 ALIGN="middle" ALT="">(Artistic rendition of
MIM's third cardinal principle)
</UL>
<P>MIM accepts people as members who agree on these basic principles and
accept <A HREF="faq/democratic-centralism.html">democratic centralism</A>, the system of
majority rule, on other questions of party line.</P>
<BLOCKQUOTE><I>"The theory of Marx, Engels, Lenin and Stalin is universally
applicable. We should regard it not as dogma, but as a guide to
action. Studying it is not merely a matter of learning terms and phrases,
but of learning Marxism-Leninism as the science of revolution." --Mao
Zedong, Selected Works, Vol. II. p. 208.</I></BLOCKQUOTE>
<P>At its <A HREF="news/1995.html">1995 Party Congress</A>, MIM passed a
<A HREF="docs/program.pdf">political program</A> outlining what we want and what we believe.</P>
</TD></TR></TABLE>
<HR>
<FONT SIZE="-1"><A HREF="/about.html">About this server</A></FONT>"""
    head = (
        '<LINK REL="stylesheet" TYPE="text/css" HREF="/css/site.css">\n'
        '<LINK REL="stylesheet" TYPE="text/css" HREF="style.css">\n'
        '<LINK REL="shortcut icon" HREF="/images/icon.ico">\n'
        '<SCRIPT LANGUAGE="JavaScript" SRC="/js/menu.js"></SCRIPT>\n'
    )
    return page("MIM etext archive", body, head=head)


def theory_pages() -> dict[str, bytes]:
    index_body = """<H1>MIM Theory</H1>
<P><IMG SRC="../img/star.png" SRCSET="../img/star.png 1x, ../img/star-2x.png 2x" WIDTH=16 HEIGHT=16
ALT="*">
The theoretical journal of the movement, published irregularly from 1992.</P>
<UL>
<LI><A HREF="mt1.html">MIM Theory #1: The white working class</A>
<LI><A HREF="mt10.html">MIM Theory #10: Labor aristocracy</A>
<LI><A HREF="/archive/etext/theory/classes1997.html">Class structure in 1997</A>
<LI><A HREF="gpcr.html">On the Cultural Revolution</A>
<LI><A HREF="restoration.html">Capitalist restoration</A>
<LI><A HREF="quotes.html">Quotations</A>
</UL>
""" + footer("../index.html")
    quotes = page(
        "Quotations",
        '<H1>Quotations</H1>\n<P><IMG SRC="../img/mao.gif" WIDTH=16 HEIGHT=16 ALT=""></P>\n'
        f"<P>{QUOTE_1252}</P>\n"
        "<P>The French edition (Mao Ts\u00e9-toung, \u0152uvres choisies) renders the same "
        "passage with \u00ab guide \u00bb for \u2018guide\u2019 \u2014 a small difference "
        "that readers noticed.</P>\n" + footer("../index.html"),
    )
    return {
        "theory/index.html": ascii_bytes(page("MIM Theory", index_body)),
        "theory/mt1.html": ascii_bytes(
            article(
                "MIM Theory #1: The white working class",
                [
                    "The first issue of the journal asks a plain question: which classes in "
                    "the imperialist countries stand to gain from the end of imperialism, and "
                    "which stand to lose? It collects essays, letters and a long review of "
                    "labor history written between 1990 and 1992.",
                    "Readers are warned that the scans in this archive were made from a worn "
                    "copy; a few tables were retyped by hand.",
                ],
                body_attrs='BACKGROUND="../img/paper.gif" TEXT="#000000"',
            )
        ),
        "theory/mt10.html": ascii_bytes(
            page(
                "MIM Theory #10: Labor aristocracy",
                """<H1>MIM Theory #10</H1>
<TABLE BORDER=1 CELLPADDING=8 WIDTH="90%">
<TR><TD BACKGROUND="../img/cell.gif"><B>Contents</B></TD></TR>
<TR><TD>The tenth issue returns to wages, prices and the international division of labor.
Its longest article compares hourly earnings across a dozen countries and argues about what
the differences mean for political strategy.</TD></TR>
</TABLE>
"""
                + footer("../index.html"),
                doctype="",
            )
        ),
        "theory/classes1997.html": ascii_bytes(
            article(
                "Imperialism and its class structure in 1997",
                [
                    "A statistical supplement prepared for study groups: population, "
                    "employment and income tables for 1997, with short notes on the sources "
                    "and on the definitions used for each class category.",
                ],
            )
        ),
        "theory/gpcr.html": ascii_bytes(
            page(
                "On the Cultural Revolution",
                """<H1>On the Cultural Revolution</H1>
<TABLE WIDTH="80%" CELLPADDING=10 style="background: url(../img/stripe.png) repeat-y">
<TR><TD>A reading list and a short chronology of the years 1966 to 1976, prepared for new
readers. The chronology gives dates only where two or more sources agree.</TD></TR>
</TABLE>
"""
                + footer("../index.html"),
            )
        ),
        "theory/restoration.html": ascii_bytes(
            article(
                "Capitalist restoration",
                [
                    "How does a socialist state turn back into a capitalist one? This essay "
                    "reviews the debates of the 1960s and 1970s and the arguments made on each "
                    "side, with notes on the sources that were available in English.",
                ],
                head='<STYLE TYPE="text/css">\n<!--\nH1 { background-image: url(../img/hdr.gif) }'
                "\n-->\n</STYLE>\n",
            )
        ),
        "theory/quotes.html": quotes.encode("cp1252"),
    }


NOCHARSET_TEXT = (
    "Our correspondent in Montr\u00e9al writes that the Soci\u00e9t\u00e9 Saint-Jean-Baptiste "
    "debate over Qu\u00e9bec sovereignty filled the hall again this year: a young gar\u00e7on "
    "selling newspapers at the door said he had come from Trois-Rivi\u00e8res, and a visitor "
    "from Z\u00fcrich compared the referendum with the Swiss cantons. \u201cNothing is "
    "settled,\u201d said one speaker, \u00e0 la fin de la soir\u00e9e, \u201cexcept that "
    "the question will return.\u201d"
)


def country_pages() -> dict[str, bytes]:
    index_body = """<H1>Country reports</H1>
<P><IMG SRC="../img/globe.gif" WIDTH=16 HEIGHT=16 ALT="">Reports sent in by readers and cells,
1994-2005.</P>
<UL>
<LI><A HREF="usa.html">United $tates</A>
<LI><A HREF="/archive/etext/countries/philippines.html">Philippines</A>
<LI><A HREF="nocharset.html">Qu&eacute;bec</A>
<LI><A HREF="france.html">France</A>
</UL>
""" + footer("/archive/etext/")
    nocharset = (
        "<HTML>\n<HEAD>\n<TITLE>Qu\u00e9bec report</TITLE>\n</HEAD>\n<BODY>\n"
        f"<H1>Qu\u00e9bec</H1>\n<P>{NOCHARSET_TEXT}</P>\n"
        "<P>Soci\u00e9t\u00e9, r\u00e9f\u00e9rendum, \u00e9lection, fran\u00e7ais, "
        "na\u00efve, c\u0153ur.</P>\n" + footer("../index.html") + "</BODY>\n</HTML>\n"
    )
    france = page(
        "France",
        "<H1>France</H1>\n<P>Notes from Paris on the \u00e9lections of 2002: the "
        "Soci\u00e9t\u00e9 g\u00e9n\u00e9rale strike, the fran\u00e7ais press and a "
        "caf\u00e9 meeting in the 11e arrondissement. This page was written on a "
        "Macintosh and uploaded without conversion.</P>\n" + footer("../index.html"),
        meta='<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=x-mac-roman">\n',
    )
    return {
        "countries/index.html": ascii_bytes(page("Country reports", index_body)),
        "countries/usa.html": ascii_bytes(
            article(
                "United $tates",
                [
                    "A survey of prison conditions and censorship reported by readers inside, "
                    "state by state. Several states returned our mail unopened in 1998; their "
                    "rules are summarised in a table at the end.",
                ],
            )
        ),
        "countries/philippines.html": ascii_bytes(
            article(
                "Philippines",
                [
                    "A translated interview about land tenure in Luzon, followed by a "
                    "correspondent's notes on the 1996 harvest and on prices in the provinces.",
                ],
                doctype=HTML401,
            )
        ),
        "countries/nocharset.html": nocharset.encode("cp1252"),
        "countries/france.html": france.encode("mac_roman"),
    }


def faq_pages() -> dict[str, bytes]:
    index_body = """<H1>Frequently asked questions</H1>
<OL>
<LI><A HREF="democratic-centralism.html">What is democratic centralism?</A>
<LI><A HREF="joining.html">How do I join?</A>
<LI><A HREF="labor-aristocracy.html">What is the labor aristocracy?</A>
</OL>
""" + footer("../index.html")
    joining_body = """<H1>How do I join?</H1>
<P>Write to us. New members are asked to study the three main points and to work with a
local cell for some months first. Questions can be sent by
<A HREF="mailto:etext@example.org">e-mail</A> or through the search form below.</P>
<FORM METHOD="GET" ACTION="/cgi-bin/search.pl">
<INPUT TYPE="text" NAME="q" SIZE=20>
<INPUT TYPE="image" SRC="../img/search.gif" NAME="go" ALT="Search">
</FORM>
""" + footer("../index.html")
    return {
        "faq/index.html": crlf(page("FAQ", index_body)),
        "faq/democratic-centralism.html": crlf(
            article(
                "What is democratic centralism?",
                [
                    "Members discuss a question freely until a decision is taken; after the "
                    "vote, the minority carries out the decision of the majority while keeping "
                    "the right to argue its case again through the proper channels.",
                ],
            )
        ),
        "faq/joining.html": crlf(page("How do I join?", joining_body)),
        "faq/labor-aristocracy.html": crlf(
            article(
                "What is the labor aristocracy?",
                [
                    "A short answer with references: the phrase comes from Engels and Lenin, "
                    "and names the better-paid layers of workers whose interests, the argument "
                    "goes, are tied to their country's position in the world economy.",
                ],
            )
        ),
    }


def book_pages() -> dict[str, bytes]:
    index_body = """<H1>Book reviews</H1>
<TABLE BORDER=0 CELLPADDING=4>
<TR BGCOLOR="#FFFFCC"><TD><A HREF="review-sakai.html">Settlers</A></TD><TD>1994</TD></TR>
<TR><TD><A HREF="/archive/etext/books/review-lenin.html">Imperialism, the Highest
Stage</A></TD><TD>1996</TD></TR>
<TR BGCOLOR="#FFFFCC"><TD><A HREF="review-hinton.html">Fanshen</A></TD><TD>1999</TD></TR>
</TABLE>
<P>See also <A HREF="../based/page.html">reviews reprinted from the newsletter</A>.</P>
""" + footer("../index.html")
    return {
        "books/index.html": ascii_bytes(page("Book reviews", index_body)),
        "books/review-sakai.html": ascii_bytes(
            article(
                "Review: Settlers",
                [
                    "A history of the United States told from the point of view of land and "
                    "labor. The reviewer praises the research and questions two of the later "
                    "chapters, which lean on a small number of sources.",
                ],
            )
        ),
        "books/review-lenin.html": ascii_bytes(
            article(
                "Review: Imperialism, the Highest Stage of Capitalism",
                [
                    "Written in 1916 and still argued over. The review reads the pamphlet "
                    "next to the trade and investment figures of the 1990s and asks which of "
                    "its claims have aged well.",
                ],
            )
        ),
        "books/review-hinton.html": ascii_bytes(
            article(
                "Review: Fanshen",
                [
                    "A village in Shanxi during land reform, recorded by an American who "
                    "lived there. The reviewer recommends it as a first book for study groups.",
                ],
            )
        ),
        "books/review-redbook.html": ascii_bytes(
            article(
                "Review: Quotations from Chairman Mao",
                [
                    "The little red book, reviewed for the newsletter in 1997: its history, "
                    "its printings and the many translations that circulated in the 1970s.",
                ],
            )
        ),
    }


def news_pages() -> dict[str, bytes]:
    index_body = """<H1>News and notes</H1>
<IFRAME SRC="ticker.html" WIDTH=400 HEIGHT=60 FRAMEBORDER=0>Latest headlines</IFRAME>
<UL>
<LI><A HREF="1995.html">1995 Party Congress</A>
<LI><A HREF="compressed.html">Server notes (compressed)</A>
<LI><A HREF="chunked.html">Conference report (streamed)</A>
<LI><A HREF="chunked-gzip.html">Letters page (streamed, compressed)</A>
<LI><A HREF="latest.html">Latest news</A>
<LI><A HREF="/archive/etext/news/moved.html">Reading list</A>
</UL>
""" + footer("../index.html")
    long_report = [
        f"Session {n}. Delegates took up item {n} of the agenda: reports from the cells, the "
        "state of the printing fund, distribution of the newspaper inside prisons and the "
        "correspondence programme. The minutes record the questions asked and the answers "
        "given, and note which matters were referred to the next meeting."
        for n in range(1, 9)
    ]
    letters = [
        f"Letter {n}. A reader writes about books received, books refused by the mail room, "
        "and the study group that meets when the schedule allows. We print it with the "
        "writer's permission and with identifying details removed."
        for n in range(1, 7)
    ]
    return {
        "news/index.html": ascii_bytes(page("News", index_body)),
        "news/ticker.html": ascii_bytes(
            page(
                "Ticker",
                '<FONT SIZE="-1">New: country reports updated. The archive has moved to a new '
                "server.</FONT>",
                doctype="",
                meta="",
            )
        ),
        "news/1995.html": ascii_bytes(
            article(
                "1995 Party Congress",
                [
                    "The congress met over three days, adopted a written program and elected "
                    "a new central committee. The program is available as a "
                    '<A HREF="../docs/program.pdf">PDF</A>.',
                ],
            )
        ),
        "news/compressed.html": ascii_bytes(
            article(
                "Server notes",
                [
                    "This page is sent gzip-compressed to browsers that ask for it. "
                    "Compression saves bandwidth on the modem lines most readers use. " * 3,
                ],
            )
        ),
        "news/chunked.html": ascii_bytes(article("Conference report", long_report)),
        "news/chunked-gzip.html": ascii_bytes(article("Letters", letters)),
        "news/2008.html": page(
            "2008",
            "<h1>2008 \u2014 the archive moves</h1>\n<p>The etext archive is now kept by "
            "MIM(Prisons). Pages are served as they were; a few r\u00e9sum\u00e9s and "
            "translations were added.</p>\n" + footer("../index.html"),
            doctype=HTML401,
            meta='<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n',
        ).encode("utf-8"),
        "news/moved.html": ascii_bytes(
            page(
                "Moved",
                '<P>This page has moved. If you are not sent on, follow <A HREF="/archive/etext/'
                'news/">the news index</A>.</P>',
                head='<META HTTP-EQUIV="refresh" CONTENT="0; URL=moved-target.html">\n',
            )
        ),
        "news/moved-target.html": ascii_bytes(
            article(
                "Reading list",
                [
                    "A reading list for new members, sorted from introductory pamphlets to the "
                    "longer works of theory and history.",
                ],
            )
        ),
    }


def special_pages() -> dict[str, bytes]:
    """Pages whose links only some extractors find: image map, frames, BASE, embeds."""
    pixel = base64.b64encode(media.gif(1, 1, (255, 255, 255))).decode("ascii")
    map_body = """<H1>Graphical site map</H1>
<P><IMG SRC="img/navmap.gif" USEMAP="#nav" WIDTH=120 HEIGHT=80 BORDER=0 ALT="Map"></P>
<MAP NAME="nav">
<AREA SHAPE="rect" COORDS="0,0,40,80" HREF="mapped/asia.html" ALT="Asia">
<AREA SHAPE="rect" COORDS="40,0,80,80" HREF="/archive/etext/mapped/africa.html" ALT="Africa">
<AREA SHAPE="rect" COORDS="80,0,120,80" HREF=mapped/americas.html ALT="Americas">
</MAP>
""" + footer("index.html")
    frames = (
        HTML401.replace("Transitional", "Frameset").replace("loose", "frameset")
        + """<HTML>
<HEAD>
<TITLE>MIM etext archive (frames)</TITLE>
</HEAD>
<FRAMESET COLS="25%,*">
<FRAME SRC="frames/nav.html" NAME="nav">
<FRAME SRC="frames/main.html" NAME="main">
<NOFRAMES>
<BODY>
<P>Your browser does not support frames. Go to the <A HREF="index.html">plain version</A>.</P>
</BODY>
</NOFRAMES>
</FRAMESET>
</HTML>
"""
    )
    media_body = """<H1>Multimedia</H1>
<P>An animated banner (Flash 4):</P>
<EMBED SRC="media/intro.swf" WIDTH=100 HEIGHT=100 TYPE="application/x-shockwave-flash">
<P>The anthem (MIDI):</P>
<OBJECT DATA="media/anthem.mid" TYPE="audio/midi" WIDTH=200 HEIGHT=40>Your browser cannot play
MIDI.</OBJECT>
<P>A clock (Java):</P>
<APPLET CODE="Clock.class" CODEBASE="applets/" WIDTH=100 HEIGHT=40>Java is not enabled.</APPLET>
""" + footer("index.html")
    links_body = f"""<H1>Links</H1>
<P><IMG SRC="data:image/gif;base64,{pixel}" WIDTH=1 HEIGHT=1 ALT="">Other places and other
things. Some of these never worked from every browser.</P>
<UL>
<LI><A HREF="http://www.prisoncensorship.info/">MIM(Prisons)</A>
<LI><A HREF="ftp://ftp.example.org/pub/mim/">FTP mirror</A>
<LI><A HREF="mailto:etext@example.org">Write to the archive</A>
<LI><A HREF="javascript:window.print()">Print this page</A>
<LI><A HREF="file:///etc/passwd">Local copy</A>
<LI><A HREF="private/secret.html">Members only</A>
<LI><A HREF="missing.html">Old guestbook</A>
<LI><A HREF="broken.html">Search the archive</A>
<LI><A HREF="/archive/etext/faq">FAQ (old address)</A>
</UL>
""" + footer("index.html")
    notes_body = """<H1>Notes on the archive</H1>
<P>These pages were saved from the old server in 2008. Some addresses changed on the way:
the <A HREF="old-index.html">old front page</A> now sends you to the new one. A plain-text
<A HREF="docs/readme.txt">README</A> describes the layout.</P>
<P>Letters were kept in a database and shown by a script:</P>
<UL>
<LI><A HREF="file.php?railfile=letter1.html">Letter from a reader, 1999</A>
<LI><A HREF="/archive/etext/file.php?railfile=letter2.html">Letter on censorship, 2001</A>
<LI><A HREF="file.php?railfile=letter3.html">Letter on study groups, 2003</A>
<LI><A HREF="file.php?railfile=letter4.html">Letter lost in the 2004 move</A>
</UL>
""" + footer("index.html")
    based_body = """<H1>Reviews from the newsletter</H1>
<P><IMG SRC="cover-redbook.gif" WIDTH=16 HEIGHT=16 ALT="cover">
Reprinted from the newsletter. This page lives in another folder but its links are written
for the book reviews folder, as the BASE element says.</P>
<UL>
<LI><A HREF="review-redbook.html">Quotations from Chairman Mao</A>
<LI><A HREF="index.html">All book reviews</A>
<LI><A HREF="../theory/mt1.html">MIM Theory #1</A>
</UL>
"""

    def mapped(name: str, text: str) -> bytes:
        return ascii_bytes(article(name, [text]))

    def letter(title: str, text: str) -> bytes:
        # The script's output had no doctype and no footer links, only the letter.
        return ascii_bytes(page(title, f"<H2>{title}</H2>\n<P>{text}</P>", doctype="", meta=""))

    return {
        "map.html": ascii_bytes(page("Site map", map_body)),
        "mapped/asia.html": mapped(
            "Asia", "Reports from India, Nepal and the Philippines, 1996-2004."
        ),
        "mapped/africa.html": mapped("Africa", "Reports from Azania and from West Africa."),
        "mapped/americas.html": mapped(
            "The Americas", "Reports from Peru, Mexico and the prisons of the United $tates."
        ),
        "frames.html": ascii_bytes(frames),
        "frames/nav.html": ascii_bytes(
            page(
                "Navigation",
                '<A HREF="../theory/index.html" TARGET="main">Theory</A><BR>\n'
                '<A HREF="../faq/index.html" TARGET="main">FAQ</A><BR>\n'
                '<A HREF="../index.html" TARGET="_top">No frames</A>',
                body_attrs='BGCOLOR="#FFCC99"',
            )
        ),
        "frames/main.html": ascii_bytes(
            article(
                "Welcome",
                ["Choose a section on the left. This framed version was added in 1998."],
            )
        ),
        "media.html": ascii_bytes(page("Multimedia", media_body)),
        "links.html": ascii_bytes(page("Links", links_body)),
        "notes.html": ascii_bytes(page("Notes on the archive", notes_body)),
        "based/page.html": ascii_bytes(
            page(
                "Reviews from the newsletter",
                based_body,
                head='<BASE HREF="/archive/etext/books/">\n',
            )
        ),
        "rail/letter1.html": letter(
            "Letter from a reader, 1999",
            "Thank you for the newspapers. They arrive about one time in three; the rest are "
            "stopped at the mail room with a slip that gives no reason.",
        ),
        "rail/letter2.html": letter(
            "Letter on censorship, 2001",
            "The rule book says publications may be refused if they threaten security, but "
            "nobody will say which page of which issue did so.",
        ),
        "rail/letter3.html": letter(
            "Letter on study groups, 2003",
            "Five of us meet on Saturdays and read one chapter a week. We would like more "
            "copies of the first issue of the journal.",
        ),
        "private/secret.html": ascii_bytes(
            article(
                "Members only",
                ["Meeting schedules were kept here. Robots are asked not to index this folder."],
            )
        ),
    }


def images() -> dict[str, bytes]:
    # Each image has its own colour so every file, and so every payload digest, is distinct.
    return {
        "img/thirdpoint.gif": media.gif(16, 16, (153, 0, 0)),
        "img/navmap.gif": media.gif(120, 80, (255, 204, 153), (153, 0, 0)),
        "img/star.png": media.png(16, 16, (255, 215, 0)),
        "img/star-2x.png": media.png(32, 32, (255, 200, 0)),
        "img/paper.gif": media.gif(16, 16, (250, 245, 230)),
        "img/cell.gif": media.gif(16, 16, (255, 255, 204)),
        "img/search.gif": media.gif(16, 16, (0, 0, 153), (255, 255, 255)),
        "img/bullet.gif": media.gif(16, 16, (204, 0, 0), (255, 255, 255)),
        "img/bg-paper.png": media.png(16, 16, (245, 240, 225)),
        "img/print-logo.gif": media.gif(16, 16, (0, 0, 0)),
        "img/hdr.gif": media.gif(16, 16, (255, 153, 51)),
        "img/stripe.png": media.png(16, 16, (230, 230, 255)),
        "img/globe.gif": media.gif(16, 16, (0, 102, 204)),
        "img/mao.gif": media.gif(16, 16, (204, 51, 51), (255, 204, 0)),
        "books/cover-redbook.gif": media.gif(16, 16, (220, 20, 20)),
    }


def etext_files() -> dict[str, bytes]:
    files: dict[str, bytes] = {"index.html": ascii_bytes(home_page())}
    for group in (
        theory_pages(),
        country_pages(),
        faq_pages(),
        book_pages(),
        news_pages(),
        special_pages(),
        images(),
    ):
        files.update(group)
    files["style.css"] = ascii_bytes(
        '@import "print.css";\n\n'
        "/* Netscape 4 ignores most of this; MSIE 4 shows the paper background. */\n"
        "BODY { background: #FFFFFF url(img/bg-paper.png) repeat; "
        "font-family: Georgia, Times, serif; }\n"
        'LI { list-style-image: url("img/bullet.gif"); }\n'
        "A:hover { color: #FF0000; }\n"
    )
    files["print.css"] = ascii_bytes(
        "@media print {\n"
        "  BODY { background: none; }\n"
        "  H1 { background: url('img/print-logo.gif') no-repeat left center;\n"
        "       padding-left: 20px; }\n"
        "}\n"
    )
    files["docs/program.pdf"] = media.pdf("MIM Program (1995): what we want, what we believe.")
    files["docs/readme.txt"] = ascii_bytes(
        "MIM etext archive - README\n"
        "==========================\n\n"
        "theory/     MIM Theory, the journal\n"
        "countries/  country reports\n"
        "books/      book reviews\n"
        "faq/        frequently asked questions\n"
        "news/       news and notes\n"
        "docs/       the party program (PDF) and this file\n\n"
        "Letters are served by file.php from the rail/ folder.\n"
    )
    files["media/intro.swf"] = media.swf()
    files["media/anthem.mid"] = media.midi()
    files["applets/Clock.class"] = media.java_class("Clock", "java/applet/Applet")
    return {f"archive/etext/{path}": data for path, data in files.items()}


def site_files() -> dict[str, bytes]:
    """Every file of the site, keyed by its path relative to the site root."""
    files = etext_files()
    files["index.html"] = ascii_bytes(
        page(
            "prisoncensorship.info",
            '<P><A HREF="/archive/etext/">MIM etext archive</A></P>',
            doctype="",
            meta="",
        )
    )
    files["about.html"] = ascii_bytes(
        article(
            "About this server",
            ["This server hosts the etext archive and a few other collections."],
            home="/archive/etext/",
        )
    )
    files["robots.txt"] = ascii_bytes(
        "# Keep robots out of the members' pages.\n"
        "User-agent: *\n"
        "Disallow: /archive/etext/private/\n"
    )
    files["css/site.css"] = ascii_bytes(
        "BODY { margin: 8px; }\n"
        "HR { border: 0; height: 2px; background: url(/images/rule.gif) repeat-x; }\n"
    )
    files["js/menu.js"] = ascii_bytes(
        "// Highlights the current section in the left menu (Netscape 3 and MSIE 4 era).\n"
        "function menuOver(cell) {\n"
        "  if (document.all) { cell.style.backgroundColor = '#FFCC99'; }\n"
        "}\n"
    )
    files["images/logo.gif"] = media.gif(16, 16, (153, 0, 0), (255, 255, 0))
    files["images/icon.ico"] = media.ico((153, 0, 0))
    files["images/rule.gif"] = media.gif(16, 2, (153, 0, 0))
    return dict(sorted(files.items()))


def existing_files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SITE_ROOT, help="site folder to write")
    parser.add_argument(
        "--check", action="store_true", help="only compare the folder with what would be written"
    )
    args = parser.parse_args(argv)
    wanted = site_files()
    if args.check:
        have = existing_files(args.out) if args.out.is_dir() else {}
        differing = sorted(p for p in wanted.keys() | have.keys() if wanted.get(p) != have.get(p))
        for path in differing:
            print(f"differs: {path}", file=sys.stderr)
        return 1 if differing else 0
    for path, data in wanted.items():
        target = args.out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    stale = sorted(set(existing_files(args.out)) - wanted.keys())
    for path in stale:
        print(f"not generated (remove it?): {path}", file=sys.stderr)
    print(f"wrote {len(wanted)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
