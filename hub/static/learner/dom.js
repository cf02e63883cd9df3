// SPDX-License-Identifier: AGPL-3.0-or-later
//
// Small helpers to build the page's elements. Text from packs and from the
// hub is always set as text, never as HTML: a pack is content, not code.

(function (CH) {
  'use strict';

  var SVG_NS = 'http://www.w3.org/2000/svg';

  // Icons drawn on a 24x24 grid, so buttons need no icon font or image file.
  var ICONS = {
    speaker: 'M3 9h4l5-4v14l-5-4H3z M15.5 8.5a5 5 0 0 1 0 7 M18.5 5.5a9 9 0 0 1 0 13',
    next: 'M4 12h14 M12 5l7 7-7 7',
    play: 'M7 4l13 8-13 8z',
    learner: 'M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8z M4 21c0-4 4-7 8-7s8 3 8 7',
    lessons: 'M4 4h7v7H4z M13 4h7v7h-7z M4 13h7v7H4z M13 13h7v7h-7z',
    again: 'M20 12a8 8 0 1 1-2.3-5.6 M20 4v5h-5',
    star: 'M12 2l3 6.5 7 .8-5.2 4.8 1.4 7L12 17.6 5.8 21l1.4-7L2 9.3l7-.8z'
  };

  function icon(name) {
    var svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('class', 'icon icon-' + name);
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    var path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  // el('button', {class: 'big', 'data-testid': 'x', onclick: fn}, [children])
  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    var names = Object.keys(attributes || {});
    for (var i = 0; i < names.length; i++) {
      var name = names[i];
      var value = attributes[name];
      if (value === null || value === undefined || value === false) {
        continue;
      }
      if (name.indexOf('on') === 0 && typeof value === 'function') {
        node.addEventListener(name.slice(2), value);
      } else if (name === 'text') {
        node.textContent = value;
      } else {
        node.setAttribute(name, value === true ? '' : String(value));
      }
    }
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) {
        node.appendChild(typeof child === 'string' ?
          document.createTextNode(child) : child);
      }
    });
    return node;
  }

  function picture(src, className) {
    // alt is empty: the picture is the button's content and the button
    // carries the label, so a screen reader does not say it twice.
    return el('img', {
      src: src, alt: '', class: className || 'picture', draggable: 'false'
    });
  }

  function clear(node) {
    while (node.firstChild) {
      node.removeChild(node.firstChild);
    }
    return node;
  }

  function shuffle(list) {
    var copy = list.slice();
    for (var i = copy.length - 1; i > 0; i--) {
      var j = Math.floor(Math.random() * (i + 1));
      var swap = copy[i];
      copy[i] = copy[j];
      copy[j] = swap;
    }
    return copy;
  }

  // A big zone that answers a touch, a mouse press, or Space/Enter from a
  // teacher's keyboard, once each: a touch is not followed by mousedown,
  // and a held key does not repeat. keyCode is for old Android WebViews.
  function onTap(zone, handler) {
    zone.addEventListener('touchstart', function (event) {
      event.preventDefault();
      handler();
    }, { passive: false });
    zone.addEventListener('mousedown', function () {
      handler();
    });
    zone.addEventListener('keydown', function (event) {
      if (event.key === ' ' || event.key === 'Enter' || event.keyCode === 32 ||
          event.keyCode === 13) {
        event.preventDefault();
        if (!event.repeat) {
          handler();
        }
      }
    });
  }

  CH.dom = {
    el: el, icon: icon, picture: picture, clear: clear, shuffle: shuffle,
    onTap: onTap
  };
})(window.CH = window.CH || {});
