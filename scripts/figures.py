"""``make figures``: every picture in the docs, drawn by running what the docs say.

Run inside ChimeraX (``bin/chimerax-headless --nogui --offscreen --exit --script
"scripts/figures.py [WORK] [--only NAME,...]"``, or ``runscript`` in the app).
``--only guide-6-surfaces,movie-neurons`` runs every command of the guide as ever but
draws only the pictures named (and not the panel's).  It runs the ChimeraX
commands of docs/guide.md (its ```cxc blocks) in order, as written, and draws each picture
the guide shows as ``![...](images/guide-NAME.png)`` at the point where it appears: a
saved view of the scene, or a strip of frames when the block before it made a movie
(``movie encode``).  The pictures of the movie scripts (images/movie-NAME.png) come from
running docs/movies/NAME.cxc on the guide's data and taking frames of its movie.  Last,
scripts/figures_panel.py draws the Connectome panel (docs/images/panel.png, copied beside
the panel's help page) on the same data.

The guide writes into ``~``; here ``~`` is WORK (default demo-output/guide; emptied first
when an earlier run made it), so nothing outside it is touched.  The guide's parser
(``guide_items``) is also what tests/test_movies.py uses to run the guide's commands.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUIDE = os.path.join(ROOT, 'docs', 'guide.md')
IMAGES = os.path.join(ROOT, 'docs', 'images')
MOVIES = os.path.join(ROOT, 'docs', 'movies')
WINDOW = (640, 480)             # pixels of every saved view
STRIP_FRAMES = 4                # frames shown side by side for a movie
STRIP_HEIGHT = 240

_BLOCK = re.compile(r'^```cxc[ \t]*\n(.*?)^```[ \t]*$', re.S | re.M)
_PICTURE = re.compile(r'!\[[^\]]*\]\((images/[^)\s]+\.png)\)')


def guide_items(text):
    """The guide's ChimeraX commands and pictures, in order: ('commands', [line, ...])
    for each ```cxc block, ('picture', 'images/NAME.png') for each picture."""
    found = [(m.start(), 'commands', [line.strip() for line in m.group(1).splitlines()
                                      if line.strip()]) for m in _BLOCK.finditer(text)]
    found += [(m.start(), 'picture', m.group(1)) for m in _PICTURE.finditer(text)]
    return [(kind, value) for _, kind, value in sorted(found, key=lambda f: f[0])]


def movie_output(commands):
    """The file a block's ``movie encode FILE ...`` writes, or None."""
    for line in commands:
        words = line.split()
        if words[:2] == ['movie', 'encode'] and len(words) > 2:
            return words[2].strip('"')
    return None


def frame_strip(movie, picture, frames=STRIP_FRAMES, height=STRIP_HEIGHT):
    """Write ``picture``: ``frames`` frames spread evenly through ``movie``, side by side,
    decoded by ffmpeg as a viewer would see them."""
    from PIL import Image
    work = tempfile.mkdtemp(prefix='frames-')
    try:
        subprocess.run(['ffmpeg', '-loglevel', 'error', '-i', movie,
                        '-vf', 'scale=-2:%d' % height, os.path.join(work, '%04d.png')],
                       check=True)
        names = sorted(os.listdir(work))
        chosen = [names[round(i * (len(names) - 1) / max(frames - 1, 1))]
                  for i in range(min(frames, len(names)))]
        pictures = [Image.open(os.path.join(work, n)).convert('RGB') for n in chosen]
        strip = Image.new('RGB', (sum(p.width for p in pictures) + 4 * (len(pictures) - 1),
                                  height), 'white')
        x = 0
        for p in pictures:
            strip.paste(p, (x, 0))
            x += p.width + 4
        strip.save(picture)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def fresh_home(folder):
    """An empty folder to be the guide's ``~``; one this script made before is emptied
    (the guide's commands refuse to overwrite their results), any other must be empty."""
    folder = os.path.abspath(folder)
    marker = os.path.join(folder, '.figures-home')
    if os.path.exists(marker):
        shutil.rmtree(folder)
    elif os.path.isdir(folder) and os.listdir(folder):
        from chimerax.core.errors import UserError
        raise UserError('make figures: %s is not empty and was not made by'
                        ' scripts/figures.py' % folder)
    os.makedirs(folder, exist_ok=True)
    open(marker, 'w').close()
    return folder


def main(session, argv):
    from chimerax.core.commands import run, quote_path_if_necessary as q
    only = None
    if '--only' in argv:
        k = argv.index('--only')
        only = set(argv[k + 1].split(','))
        argv = argv[:k] + argv[k + 2:]
    work = fresh_home(argv[0] if argv else os.path.join(ROOT, 'demo-output', 'guide'))
    os.makedirs(IMAGES, exist_ok=True)
    home, cwd = os.environ.get('HOME'), os.getcwd()
    os.environ['HOME'] = work           # the guide's ~/connectome-demo goes under WORK
    written = []
    try:
        run(session, 'close session; windowsize %d %d' % WINDOW)
        last = []
        for kind, value in guide_items(open(GUIDE).read()):
            if kind == 'commands':
                for line in value:
                    run(session, line)
                last = value
                continue
            picture = os.path.join(ROOT, 'docs', value)
            name = os.path.splitext(os.path.basename(value))[0]
            if not name.startswith(('guide-', 'movie-')):
                continue                    # drawn by figures_panel.py below
            if only is not None and name not in only:
                continue
            if name.startswith('movie-'):
                # A movie script, run on the guide's data (ChimeraX's working folder now).
                data = os.getcwd()
                script = os.path.join(MOVIES, name[len('movie-'):] + '.cxc')
                run(session, 'runscript %s %s' % (q(script), q(data)))
                frame_strip(os.path.join(data, name[len('movie-'):] + '.mp4'), picture)
            elif movie_output(last):
                frame_strip(os.path.abspath(os.path.expanduser(movie_output(last))), picture)
            else:
                run(session, 'wait 1')      # as a window would draw before one looks
                run(session, 'save %s width %d height %d supersample 3'
                    % (q(picture), WINDOW[0], WINDOW[1]))
            written.append(picture)
        data = os.getcwd()
        if only is None:
            run(session, 'close session')
            run(session, 'runscript %s %s' % (q(os.path.join(ROOT, 'scripts',
                                                             'figures_panel.py')), q(data)))
    finally:
        os.chdir(cwd)
        if home is None:
            os.environ.pop('HOME', None)
        else:
            os.environ['HOME'] = home
    session.logger.info('make figures: wrote %s%s'
                        % (', '.join(os.path.relpath(p, ROOT) for p in written),
                           ', and the panel pictures' if only is None else ''))


if 'session' in globals():      # run by ChimeraX, not imported by a test
    main(session, sys.argv[1:])  # noqa: F821
