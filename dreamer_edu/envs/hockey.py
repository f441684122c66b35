"""The course's air-hockey game (``HockeyEnv``), re-implemented clean-room on Box2D.

Two rackets and a puck on a 10 m x 8 m table seen from above.  Player one plays on the left and attacks the
right goal; player two is its mirror image.  Each player has four action numbers in [-1, 1]: force along x,
force along y, torque, and "shoot" (> 0.5 releases a held puck).  A racket that touches a slow puck catches
it and holds it for up to 14 steps; then the puck leaves at 60 m/s along the racket's heading.

Observation (18 floats, player one's view, world units relative to the table centre):

====  =====================================  ====  =====================================
0-1   own racket x, y                        9-10  opponent racket vx, vy
2     own racket angle (rad)                 11    opponent racket angular velocity
3-4   own racket vx, vy                      12-13 puck x, y
5     own racket angular velocity            14-15 puck vx, vy
6-7   opponent racket x, y                   16    own keep-puck timer (15 at the catch, 0 = free)
8     opponent racket angle                  17    opponent keep-puck timer
====  =====================================  ====  =====================================

``obs_agent_two()`` is the same table turned by 180 degrees (positions and velocities negated, angles kept),
so both players see themselves on the left and one policy can play either side.

Reward (player one): +10 for scoring, -10 for conceding (in the final step only), plus a small dense penalty
proportional to the racket-puck distance while the puck is in the own half and not moving away.

The numbers (geometry, masses, forces, damping switches, the order of things inside a step) follow the
official game's published facts; the physics engine is the same Box2D 2.3, so the game plays the same.
"""
from __future__ import annotations

import math
from enum import Enum

import Box2D
import gymnasium as gym
import numpy as np
from Box2D import b2CircleShape, b2FixtureDef, b2PolygonShape
from gymnasium import spaces

# --- the table, in metres (the original is drawn in pixels; SCALE pixels make one metre) ----------------
FPS = 50
DT = 1.0 / FPS                                  # one env step = one 20 ms physics step
VELOCITY_ITERATIONS, POSITION_ITERATIONS = 180, 60
SCALE = 60.0
VIEWPORT_W, VIEWPORT_H = 600, 480               # screen pixels
W, H = VIEWPORT_W / SCALE, VIEWPORT_H / SCALE   # 10 m x 8 m
CENTER_X, CENTER_Y = W / 2, H / 2               # observations are relative to (5, 4)
ZONE = W / 20                                   # 0.5 m: a racket is pushed back this close to the centre line
GOAL_SIZE = 75 / SCALE                          # 1.25 m: half the height of a goal mouth
MAX_DIST = 250 / SCALE                          # distance scale of the closeness penalty

# --- players and puck --------------------------------------------------------------------------------
RACKET_FACTOR = 1.2
RACKET_POLYGON_PX = [(-10, 20), (5, 20), (5, -20), (-10, -20), (-18, -10), (-21, 0), (-18, 10)]  # player one
RACKET_DENSITY = 200.0 / RACKET_FACTOR          # -> 58 kg
PUCK_RADIUS = 13 / SCALE
PUCK_DENSITY = 7.0                              # -> 1.0324 kg
FORCE_MULTIPLIER = 6000.0                       # N per unit of action
TORQUE_MULTIPLIER = 400.0
SHOOT_SPEED = 60.0                              # m/s added to a released puck
MAX_PLAYER_SPEED = 10.0                         # above it the racket is braked (a soft limit)
MAX_PUCK_SPEED = 25.0                           # above it the puck is braked hard (a damping switch)
MAX_ANGLE = math.pi / 3                         # beyond it a spring turns the racket back
MAX_TIME_KEEP_PUCK = 15
MAX_TIMESTEPS = {"NORMAL": 250, "TRAIN_SHOOTING": 80, "TRAIN_DEFENSE": 80}

# --- soft walls for rackets (world x, y) ---------------------------------------------------------------
RACKET_X_MIN, RACKET_X_MAX = 1.5, W - 1.5       # behind the own goal line a racket is stopped
RACKET_Y_MIN, RACKET_Y_MAX = 1.2, H - 1.2

# --- what collides with what (Box2D category and mask bits) --------------------------------------------
PUCK_BITS = 0x01        # the puck: hits rackets, walls and goal sensors
RACKET_BITS = 0x10      # rackets, goal sensors and goal solids share this category
WALL_BITS = 0x11        # walls: hit everything

# bottom-left goal post in pixels; the other three are mirror images.  135 = (H - 1) / 2 * SCALE - 75.
GOAL_POST_PX = [(-10, 135), (10, 128), (10, -5), (-10, -5)]


def polygon(vertices_px, scale: float = 1 / SCALE, mirror_x: int = 1, mirror_y: int = 1) -> b2PolygonShape:
    """A Box2D polygon from pixel vertices (metres = pixels / SCALE), optionally mirrored."""
    return b2PolygonShape(vertices=[(mirror_x * x * scale, mirror_y * y * scale) for x, y in vertices_px])


# Shapes are templates: Box2D copies a shape into every fixture made from it, so these are made once, here.
# (A b2FixtureDef given a brand-new shape leaks that shape's memory in pybox2d.)
WALL_SHAPE = b2PolygonShape(box=(250 / SCALE, 10 / SCALE))          # top and bottom walls: 500 x 20 px
POST_SHAPES = {(mx, my): polygon(GOAL_POST_PX, mirror_x=mx, mirror_y=my) for mx in (1, -1) for my in (1, -1)}
GOAL_SHAPE = b2PolygonShape(box=(10 / SCALE, GOAL_SIZE))             # 20 x 150 px
RACKET_SHAPES = {side: polygon(RACKET_POLYGON_PX, RACKET_FACTOR / SCALE, mirror_x=side) for side in (1, -1)}
PUCK_SHAPE = b2CircleShape(radius=PUCK_RADIUS)


class Mode(Enum):
    """What kind of game: a full match, or one of the two 80-step training drills."""

    NORMAL = 0           # a match: 251 steps, the serve alternates between the players
    TRAIN_SHOOTING = 1   # the puck lies in player one's half; player two stands somewhere on the right
    TRAIN_DEFENSE = 2    # the puck is shot at player one's goal at 60 m/s


def parse_mode(mode) -> Mode:
    """A ``Mode``, its name (``"NORMAL"``, any case) or its value (``0``) -> ``Mode``; else a ValueError."""
    if isinstance(mode, Mode):
        return mode
    if isinstance(mode, str) and mode.upper() in Mode.__members__:
        return Mode[mode.upper()]
    if isinstance(mode, (int, np.integer)) and not isinstance(mode, bool) and int(mode) in (0, 1, 2):
        return Mode(int(mode))
    valid = ", ".join(f"{m.name} ({m.value})" for m in Mode)
    raise ValueError(f"unknown hockey mode {mode!r}; valid modes: {valid}")


def check_action(action, size: int) -> np.ndarray:
    """An action as a float32 vector of ``size`` numbers, clipped to [-1, 1]; NaN/inf or a wrong shape raise."""
    a = np.asarray(action, dtype=np.float32)
    if a.shape != (size,):
        raise ValueError(f"action must have shape ({size},), got shape {a.shape}")
    if (np.abs(a) <= 1.0).all():          # the usual case: in range (NaN fails this test too)
        return a
    if not np.isfinite(a).all():
        raise ValueError(f"action must be finite, got NaN or inf in {a}")
    return np.clip(a, -1.0, 1.0)


# Player two's observation = player one's, rotated by 180 degrees: take entry MIRROR_INDEX[i], times MIRROR_SIGN[i].
# The players' blocks swap (0-5 <-> 6-11), positions and velocities change sign, angles and angular velocities
# do not (a half turn leaves a heading difference unchanged), the puck's numbers change sign, the timers swap.
MIRROR_INDEX = np.array([6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5, 12, 13, 14, 15, 17, 16])
MIRROR_SIGN = np.array([-1, -1, 1, -1, -1, 1, -1, -1, 1, -1, -1, 1, -1, -1, -1, -1, 1, 1], dtype=np.float32)


def mirror_observation(obs: np.ndarray) -> np.ndarray:
    """Player one's observation turned into player two's (18 numbers, or 16 without keep mode)."""
    n = obs.shape[-1]
    return obs[..., MIRROR_INDEX[:n]] * MIRROR_SIGN[:n]


class GoalAndCatchDetector(Box2D.b2ContactListener):
    """Box2D calls ``BeginContact`` when two fixtures start touching (at the start of ``world.Step``).

    Puck in a goal sensor: the game is over.  Puck touching a racket that is not holding it and the puck not
    moving away from that racket (keep mode): the racket catches the puck, its timer starts at 15.
    """

    def __init__(self, env: "HockeyEnv"):
        super().__init__()
        self.env = env

    def BeginContact(self, contact):
        a, b = contact.fixtureA.body.userData, contact.fixtureB.body.userData
        if a != "puck" and b != "puck":
            return
        other = b if a == "puck" else a
        env = self.env
        if other == "goal_player_2":        # the right goal: player one scored
            env.done, env.winner = True, 1
        elif other == "goal_player_1":      # the left goal: player two scored
            env.done, env.winner = True, -1
        elif env.keep_mode:
            puck_vx = env.puck.linearVelocity[0]
            if other == "player1" and env.player1_has_puck == 0 and puck_vx < 0.1:
                env.player1_has_puck = MAX_TIME_KEEP_PUCK
            elif other == "player2" and env.player2_has_puck == 0 and puck_vx > -0.1:
                env.player2_has_puck = MAX_TIME_KEEP_PUCK


class HockeyEnv(gym.Env):
    """Two-player air hockey: ``step`` takes both players' actions (8 numbers: player one's 4, then player two's).

    ``mode``: a ``Mode``, its name or its value.  ``keep_mode``: rackets catch the puck and a 4th action
    number shoots (with ``keep_mode=False`` each player has 3 action numbers and the observation 16, without
    the timers).  ``render_mode``: None, "rgb_array" ((480, 600, 3) uint8 frames) or "human" (a window).

    Player two's x/y action is in its own mirrored frame: +x moves it left, towards player one's goal.
    Feed it ``obs_agent_two()`` and the same policy plays both sides.

    Differences from the official package (deliberate fixes; the game itself is the same):

    * running out of time ends the game with ``truncated=True, terminated=False`` (the official one says
      ``terminated=True``); a goal gives ``terminated=True``;
    * observations are float32, as the observation space declares (the official ones are float64), and with
      ``keep_mode=False`` the space has the 16 dimensions actually returned (the official one says 18);
    * ``reset(seed=..., options={"mode": ..., "one_starting": ...})`` works (the official ``reset(mode=...)``
      crashes and ignores ``options``; its first positional argument is not the seed);
    * an unseeded ``reset()`` continues the env's random stream (the official one reseeds from OS entropy
      every time), and every random draw, the opponent's in ``HockeyVsOpponent`` included, comes from the
      env's ``np_random``: one seed fixes a whole game;
    * who serves in NORMAL games: unseeded resets alternate as in the official game (the first puts the puck
      on player two's side); a seeded reset decides by the seed's parity (even: player two serves, odd:
      player one), so ``reset(seed=s)`` is always the same game and seeds 0, 1, 2, ... alternate exactly
      like the official env's consecutive resets;
    * the keep-puck timers are zeroed at reset (the official ones carry over);
    * stepping a finished game raises ``RuntimeError`` (the official one keeps going); NaN/inf or a wrongly
      shaped action raises ``ValueError`` (out-of-range numbers are still clipped to [-1, 1]);
    * ``discrete_action_space`` is ``Discrete(8)``, all eight documented codes (the official one declares 7),
      and the converter is also spelled ``discrete_to_continuous_action`` (the official name works too);
    * ``render_mode`` is a constructor argument (gymnasium style) instead of an argument of ``render``.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": FPS}

    def __init__(self, mode="NORMAL", keep_mode: bool = True, render_mode: str | None = None):
        if render_mode not in (None, "human", "rgb_array"):
            raise ValueError(f"unknown render_mode {render_mode!r}; valid: None, 'human', 'rgb_array'")
        self.mode = mode
        self.keep_mode = bool(keep_mode)
        self.render_mode = render_mode
        self.player_action_dim = 4 if self.keep_mode else 3
        self.observation_space = spaces.Box(-np.inf, np.inf, (18 if self.keep_mode else 16,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (2 * self.player_action_dim,), np.float32)
        self.discrete_action_space = spaces.Discrete(8 if self.keep_mode else 7)
        self.world = None
        self._detector = GoalAndCatchDetector(self)   # keep a reference: the Box2D world does not
        self.one_starts = True          # as after the official constructor: the first reset serves player two
        self.done, self.winner, self.time = True, 0, 0
        self.player1_has_puck = self.player2_has_puck = 0
        self._screen = None
        self._clock = None

    # --- settings ---------------------------------------------------------------------------------------
    @property
    def mode(self) -> Mode:
        return self._mode

    @mode.setter
    def mode(self, value) -> None:
        self._mode = parse_mode(value)

    @property
    def max_timesteps(self) -> int:
        """The step counter's limit: a game without a goal lasts ``max_timesteps + 1`` steps."""
        return MAX_TIMESTEPS[self._mode.name]

    # --- starting a game --------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Build a fresh table.  ``options``: ``"mode"`` (switch mode), ``"one_starting"`` (True: player one
        serves; NORMAL only).  Returns ``(observation, info)``."""
        options = dict(options or {})
        unknown = sorted(set(options) - {"mode", "one_starting"})
        if unknown:
            raise ValueError(f"unknown reset option(s) {unknown}; valid: 'mode', 'one_starting'")
        super().reset(seed=seed)
        if "mode" in options:
            self.mode = options["mode"]
        if "one_starting" in options:
            self.one_starts = bool(options["one_starting"])
        elif seed is not None:
            self.one_starts = seed % 2 == 1
        else:
            self.one_starts = not self.one_starts

        self.done, self.winner, self.time = False, 0, 0
        self.player1_has_puck = self.player2_has_puck = 0
        self._build_world()
        self._place_bodies()
        if self.render_mode == "human":
            self.render()
        return self._observation(), self._info()

    def _build_world(self) -> None:
        """A new Box2D world with the walls, the two goals and the contact listener (no gravity: seen from above)."""
        self.world = Box2D.b2World(gravity=(0, 0))
        self.world.contactListener = self._detector
        self.walls = [self._add_wall((CENTER_X, 0.5), WALL_SHAPE), self._add_wall((CENTER_X, H - 0.5), WALL_SHAPE)]
        for x, mirror_x in ((CENTER_X - 245 / SCALE, 1), (CENTER_X + 245 / SCALE, -1)):   # left, right posts
            self.walls.append(self._add_wall((x, 0.5), POST_SHAPES[mirror_x, 1]))
            self.walls.append(self._add_wall((x, H - 0.5), POST_SHAPES[mirror_x, -1]))
        self.goal_player_1 = self._add_goal(CENTER_X - 255 / SCALE, "goal_player_1")
        self.goal_player_2 = self._add_goal(CENTER_X + 255 / SCALE, "goal_player_2")

    def _add_wall(self, position, shape):
        body = self.world.CreateStaticBody(position=position, userData="wall")
        body.CreateFixture(b2FixtureDef(shape=shape, density=0.0, friction=0.1, restitution=0.0,
                                        categoryBits=WALL_BITS, maskBits=WALL_BITS))
        return body

    def _add_goal(self, x, name):
        """A goal box with two fixtures: a sensor that only notices the puck, and a solid that only stops rackets."""
        body = self.world.CreateStaticBody(position=(x, CENTER_Y), userData=name)
        body.CreateFixture(b2FixtureDef(shape=GOAL_SHAPE, isSensor=True, categoryBits=RACKET_BITS,
                                        maskBits=PUCK_BITS))
        body.CreateFixture(b2FixtureDef(shape=GOAL_SHAPE, categoryBits=RACKET_BITS, maskBits=RACKET_BITS))
        return body

    def _add_racket(self, x, y, name, side):
        """Player one's racket (side 1) has its flat face to the right; player two's (side -1) is its mirror."""
        body = self.world.CreateDynamicBody(position=(x, y), angle=0.0, userData=name)
        body.CreateFixture(b2FixtureDef(shape=RACKET_SHAPES[side], density=RACKET_DENSITY, friction=1.0,
                                        restitution=0.0, categoryBits=RACKET_BITS,
                                        maskBits=PUCK_BITS | RACKET_BITS))
        return body

    def _add_puck(self, x, y):
        body = self.world.CreateDynamicBody(position=(x, y), angle=0.0, userData="puck")
        body.CreateFixture(b2FixtureDef(shape=PUCK_SHAPE, density=PUCK_DENSITY, friction=0.1, restitution=0.95,
                                        categoryBits=PUCK_BITS, maskBits=RACKET_BITS))
        body.linearDamping = 0.05
        return body

    def _place_bodies(self) -> None:
        """Rackets and puck at their starting places; the random draws in the official order."""
        uniform = self.np_random.uniform
        self.player1 = self._add_racket(W / 5, H / 2, "player1", side=1)
        if self._mode == Mode.NORMAL:
            p2_x, p2_y = 4 * W / 5, H / 2
        else:
            p2_x = 4 * W / 5 + uniform(-W / 3, W / 6)
            p2_y = H / 2 + uniform(-H / 4, H / 4)
        self.player2 = self._add_racket(p2_x, p2_y, "player2", side=-1)
        self.racket_mass = self.player1.mass

        if self._mode == Mode.TRAIN_DEFENSE:
            puck_x = CENTER_X + uniform(0, W / 3)
            puck_y = CENTER_Y + 0.8 * uniform(-H / 2, H / 2)
        else:
            distance = uniform(H / 8, H / 4)
            serve_left = self._mode == Mode.TRAIN_SHOOTING or self.one_starts
            puck_x = CENTER_X - distance if serve_left else CENTER_X + distance
            puck_y = CENTER_Y + uniform(-H / 8, H / 8)
        self.puck = self._add_puck(puck_x, puck_y)
        if self._mode == Mode.TRAIN_DEFENSE:
            self._shoot_at_left_goal(puck_x, puck_y, aim_y=CENTER_Y + 0.6 * uniform(-GOAL_SIZE, GOAL_SIZE))

    def _shoot_at_left_goal(self, puck_x, puck_y, aim_y) -> None:
        """TRAIN_DEFENSE: a one-off force that sends the puck at 60 m/s towards (0, aim_y) in the first step."""
        dx, dy = 0.0 - puck_x, aim_y - puck_y
        norm = math.hypot(dx, dy)
        impulse = SHOOT_SPEED * self.puck.mass / DT
        self.puck.ApplyForceToCenter((impulse * dx / norm, impulse * dy / norm), True)

    # --- one step -----------------------------------------------------------------------------------------
    def step(self, action):
        """Both players act for one 20 ms physics step.  Returns ``(obs, reward, terminated, truncated, info)``
        for player one; ask ``obs_agent_two()`` / ``get_info_agent_two()`` for player two's side."""
        if self.done:
            raise RuntimeError("the game is over (or has not started): call reset() before step()")
        a = check_action(action, self.action_space.shape[0]).tolist()
        n = self.player_action_dim
        self._push(self.player1, a[0], a[1], side=1)
        self._turn(self.player1, a[2])
        self._push(self.player2, a[n], a[n + 1], side=-1)
        self._turn(self.player2, a[n + 2])
        self._switch_puck_damping()
        if self.keep_mode:
            self.player1_has_puck = self._hold_puck(self.player1, self.player1_has_puck, a[3] > 0.5, side=1)
            self.player2_has_puck = self._hold_puck(self.player2, self.player2_has_puck, a[n + 3] > 0.5, side=-1)
        self.world.Step(DT, VELOCITY_ITERATIONS, POSITION_ITERATIONS)   # goals and catches are detected here

        obs = self._observation()
        timed_out = not self.done and self.time >= self.max_timesteps
        self.done = self.done or timed_out
        info = self._info()
        reward = self.get_reward(info)
        self.time += 1
        if self.render_mode == "human":
            self.render()
        return obs, reward, self.done and not timed_out, timed_out, info

    def _push(self, racket, ax: float, ay: float, side: int) -> None:
        """Translate a racket: force = action * 6000 N, mirrored for player two (side = -1), with three brakes.

        1. Near the centre line (within ZONE) the x-action is ignored and a braking force pushes the racket
           back into its own half.
        2. Above 10 m/s the racket is damped hard and only forces that slow it down are applied.
        3. Soft walls (``_soft_walls``) stop a racket that pushes out of its area.
        Box2D applies ``linearDamping`` d as ``v *= 1 - DT * d`` per step: 5 -> 0.9, 20 -> 0.6.
        """
        m = self.racket_mass
        fx, fy = side * ax * FORCE_MULTIPLIER, side * ay * FORCE_MULTIPLIER
        x, y = racket.position
        vx, vy = racket.linearVelocity
        if side * (x - CENTER_X) > -ZONE:                  # player one: x > 4.5; player two: x < 5.5
            fx = -2.0 * vx * m / DT if side * vx > 0 else 0.0
            fx -= side * (x - CENTER_X) * vx * m / DT
            racket.linearDamping = 20.0
            fx, fy, vx, vy = self._soft_walls(racket, x, y, vx, vy, fx, fy, side)
            racket.ApplyForceToCenter((fx, fy), True)
            return
        fx, fy, vx, vy = self._soft_walls(racket, x, y, vx, vy, fx, fy, side)
        speed = math.hypot(vx, vy)
        if speed < MAX_PLAYER_SPEED:
            racket.linearDamping = 5.0
            racket.ApplyForceToCenter((fx, fy), True)
        else:
            racket.linearDamping = 20.0
            if math.hypot(vx + DT * fx / m, vy + DT * fy / m) < speed:
                racket.ApplyForceToCenter((fx, fy), True)

    @staticmethod
    def _soft_walls(racket, x, y, vx, vy, fx, fy, side):
        """A racket pushing out of its area (behind its goal line, past the centre, near the top or bottom
        wall) loses that velocity component and that force component.  Returns the new (fx, fy, vx, vy)."""
        if side == 1:
            out_x = (x < RACKET_X_MIN and fx < 0) or (x > CENTER_X and fx > 0)
        else:
            out_x = (x > RACKET_X_MAX and fx > 0) or (x < CENTER_X and fx < 0)
        out_y = (y > RACKET_Y_MAX and fy > 0) or (y < RACKET_Y_MIN and fy < 0)
        if out_x:
            vx = fx = 0.0
        if out_y:
            vy = fy = 0.0
        if out_x or out_y:
            racket.linearVelocity = (vx, vy)
        return fx, fy, vx, vy

    def _turn(self, racket, a_rot: float) -> None:
        """Rotate a racket with torque = action * 400 (same sign for both players).  Beyond +-60 degrees the
        action is ignored and a spring with damping turns the racket back."""
        angle, omega = racket.angle, racket.angularVelocity
        if abs(angle) > MAX_ANGLE:
            m = self.racket_mass
            torque = -0.1 * omega * m / DT if angle * omega > 0 else 0.0
            torque -= 0.1 * angle * m / DT
            racket.angularDamping = 10.0
        else:
            torque = a_rot * TORQUE_MULTIPLIER
            racket.angularDamping = 2.0
        racket.ApplyTorque(torque, True)

    def _switch_puck_damping(self) -> None:
        """A puck faster than 25 m/s loses 20% of its speed per step; otherwise it glides (0.1% per step)."""
        vx, vy = self.puck.linearVelocity
        self.puck.linearDamping = 10.0 if math.hypot(vx, vy) > MAX_PUCK_SPEED else 0.05

    def _hold_puck(self, racket, timer: int, wants_shot: bool, side: int) -> int:
        """Keep mode: a holding racket carries the puck on its origin; the timer counts down from 15 and the
        puck is shot when it reaches 1 or when the player asks (shoot > 0.5).  Returns the new timer."""
        if timer <= 1:
            return timer
        self.puck.position = racket.position
        self.puck.linearVelocity = racket.linearVelocity
        timer -= 1
        if timer == 1 or wants_shot:
            self._shoot(racket, side)
            timer = 0
        return timer

    def _shoot(self, racket, side: int) -> None:
        """Release the puck at +60 m/s along the racket's heading (player two's heading points left)."""
        impulse = side * SHOOT_SPEED * self.puck.mass / DT
        angle = racket.angle
        self.puck.ApplyForceToCenter((impulse * math.cos(angle), impulse * math.sin(angle)), True)

    # --- what the players see ----------------------------------------------------------------------------
    def _observation(self) -> np.ndarray:
        p1, p2, puck = self.player1, self.player2, self.puck
        (x1, y1), (vx1, vy1) = p1.position, p1.linearVelocity
        (x2, y2), (vx2, vy2) = p2.position, p2.linearVelocity
        (xp, yp), (vxp, vyp) = puck.position, puck.linearVelocity
        values = [x1 - CENTER_X, y1 - CENTER_Y, p1.angle, vx1, vy1, p1.angularVelocity,
                  x2 - CENTER_X, y2 - CENTER_Y, p2.angle, vx2, vy2, p2.angularVelocity,
                  xp - CENTER_X, yp - CENTER_Y, vxp, vyp]
        if self.keep_mode:
            values += (self.player1_has_puck, self.player2_has_puck)
        return np.array(values, dtype=np.float32)

    def obs_agent_two(self) -> np.ndarray:
        """The current observation from player two's side (see ``mirror_observation``)."""
        return mirror_observation(self._observation())

    def _closeness(self, racket, puck_in_own_half_and_coming: bool) -> float:
        """The dense shaping term: -30 over a game if the racket stayed MAX_DIST away from a waiting puck."""
        if not puck_in_own_half_and_coming:
            return 0.0
        factor = -30.0 / (MAX_DIST * self.max_timesteps / 2)    # -0.0576 per metre (NORMAL), -0.18 (training)
        (rx, ry), (px, py) = racket.position, self.puck.position
        return factor * math.hypot(rx - px, ry - py)

    def _info(self) -> dict:
        (px, _), (vx, _) = self.puck.position, self.puck.linearVelocity
        return {"winner": int(self.winner),
                "reward_closeness_to_puck": self._closeness(self.player1, px < CENTER_X and vx <= 0),
                "reward_touch_puck": float(self.player1_has_puck == MAX_TIME_KEEP_PUCK),
                "reward_puck_direction": vx / (self.max_timesteps * MAX_PUCK_SPEED)}

    def get_info_agent_two(self) -> dict:
        """The info dict from player two's side: winner negated, closeness in the right half, puck direction
        positive when the puck flies left."""
        (px, _), (vx, _) = self.puck.position, self.puck.linearVelocity
        return {"winner": -int(self.winner),
                "reward_closeness_to_puck": self._closeness(self.player2, px > CENTER_X and vx >= 0),
                "reward_touch_puck": float(self.player2_has_puck == MAX_TIME_KEEP_PUCK),
                "reward_puck_direction": -vx / (self.max_timesteps * MAX_PUCK_SPEED)}

    def get_reward(self, info: dict) -> float:
        """Player one's reward: +-10 when the game ends with a goal, plus the closeness penalty."""
        sparse = 10.0 * info["winner"] if self.done else 0.0
        return float(sparse + info["reward_closeness_to_puck"])

    def get_reward_agent_two(self, info_two: dict) -> float:
        """Player two's reward from ``get_info_agent_two()`` (whose winner is already negated)."""
        return self.get_reward(info_two)

    def discrete_to_continuous_action(self, k: int) -> np.ndarray:
        """One player's action for a discrete code: 0 nothing, 1/2 x -/+, 3/4 y -/+, 5/6 turn -/+, 7 shoot."""
        n = self.discrete_action_space.n
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < n:
            raise ValueError(f"discrete action must be an integer in 0..{n - 1}, got {k!r}")
        a = np.zeros(self.player_action_dim, np.float32)
        if 1 <= k <= 6:
            a[(k - 1) // 2] = 1.0 if k % 2 == 0 else -1.0
        elif k == 7:
            a[3] = 1.0
        return a

    discrete_to_continous_action = discrete_to_continuous_action   # the official package's spelling

    def set_state(self, state) -> None:
        """Put the table into the state an observation describes (positions, angles, velocities, timers).

        The puck's spin and the game's clock, ``done`` and ``winner`` are not part of an observation and stay
        as they are.  Handy for tests and for replaying a situation.
        """
        if self.world is None:
            raise RuntimeError("call reset() before set_state()")
        s = np.asarray(state, dtype=np.float64)
        dim = self.observation_space.shape[0]
        if s.shape != (dim,) or not np.isfinite(s).all():
            raise ValueError(f"state must be a finite vector of shape ({dim},), got shape {s.shape}")
        for body, i in ((self.player1, 0), (self.player2, 6)):
            body.position = (s[i] + CENTER_X, s[i + 1] + CENTER_Y)
            body.angle = s[i + 2]
            body.linearVelocity = (s[i + 3], s[i + 4])
            body.angularVelocity = s[i + 5]
            body.awake = True
        self.puck.position = (s[12] + CENTER_X, s[13] + CENTER_Y)
        self.puck.linearVelocity = (s[14], s[15])
        self.puck.awake = True
        if self.keep_mode:
            self.player1_has_puck, self.player2_has_puck = int(s[16]), int(s[17])

    # --- pictures ----------------------------------------------------------------------------------------
    def render(self):
        """With render_mode "rgb_array": the table as a (480, 600, 3) uint8 image; "human": draw it in a window
        (at 50 frames per second, the game's real speed)."""
        if self.render_mode is None:
            gym.logger.warn("render() needs HockeyEnv(render_mode='rgb_array' or 'human')")
            return None
        if self.world is None:
            raise RuntimeError("call reset() before render()")
        import pygame

        from .recording import draw_table

        if self._screen is None:
            if self.render_mode == "human":
                pygame.display.init()
                pygame.display.set_caption("hockey")
                self._screen = pygame.display.set_mode((VIEWPORT_W, VIEWPORT_H))
                self._clock = pygame.time.Clock()
            else:
                self._screen = pygame.Surface((VIEWPORT_W, VIEWPORT_H))
        draw_table(self, self._screen)
        if self.render_mode == "rgb_array":
            return np.ascontiguousarray(np.transpose(pygame.surfarray.pixels3d(self._screen), (1, 0, 2)))
        pygame.event.pump()
        pygame.display.flip()
        self._clock.tick(self.metadata["render_fps"])
        return None

    def close(self):
        if self._screen is not None and self.render_mode == "human":
            import pygame

            pygame.display.quit()
        self._screen = None

